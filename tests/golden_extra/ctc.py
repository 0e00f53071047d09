"""PyTorch reference for the CTC loss (tests/golden_loss2.rs): F.ctc_loss with the defaults
(blank 0, the mean over the batch of each loss divided by its target length), the sum with
concatenated 1-D targets, none (with a stored cotangent `gy`) with repeated labels (a blank
needed between the copies) and an empty target, varying input and target lengths within a
batch, a non-zero blank, zero_infinity=True with an impossible sample (input too short), and
an unbatched (T, C) input. Run with PyTorch 2.15 (CPU) inside this folder; the tensors are
byte-for-byte reproducible (the metadata's key order is not).

Same conventions as losses_margin.py and tests/golden/README.md: one file per case, the float
input `log_probs` (a log_softmax over the classes, made in float32) stored in float32, the
int64 `targets`, `input_lengths` and `target_lengths`, the loss `y` and the gradient
`grad.log_probs` of `y` (a scalar for "mean" and "sum") or of `sum(y * gy)` (for "none")
computed in float64 from the stored float32 values and rounded to float32.

The gradient PyTorch's CPU kernel returns for `log_probs` is the gradient for the logits
before the log_softmax (exp(lp) - exp(log sum alpha beta + nll - lp), times the incoming
gradient): this script checks that it equals the gradient, through log_softmax, for the
logits (the case `z = log_probs`, whose log_softmax is itself), and that it is not the
derivative with respect to log_probs alone (a finite difference of the loss in one entry).
"""
import json
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(23)


def check_quirk(lp, targets, il, tl, blank, zero_infinity):
    """PyTorch's log_probs gradient is the logits' gradient through log_softmax."""
    z = lp.double().clone().requires_grad_(True)
    F.ctc_loss(z.log_softmax(-1), targets, il, tl, blank=blank, reduction="sum",
               zero_infinity=zero_infinity).backward()
    x = lp.double().clone().requires_grad_(True)
    F.ctc_loss(x, targets, il, tl, blank=blank, reduction="sum",
               zero_infinity=zero_infinity).backward()
    assert torch.allclose(z.grad, x.grad, atol=1e-5), ("quirk", (z.grad - x.grad).abs().max())
    # The derivative for log_probs alone differs: a central difference in one entry.
    idx = (0,) * lp.dim()
    h = 1e-6
    def f(d):
        y = lp.double().clone()
        y[idx] += d
        return F.ctc_loss(y, targets, il, tl, blank=blank, reduction="sum",
                          zero_infinity=zero_infinity).item()
    fd = (f(h) - f(-h)) / (2 * h)
    assert abs(fd - x.grad[idx].item()) > 1e-4, (fd, x.grad[idx].item())


def case(name, op, log_probs, targets, input_lengths, target_lengths, reduction,
         blank=0, zero_infinity=False):
    il = torch.tensor(input_lengths)
    tl = torch.tensor(target_lengths)
    check_quirk(log_probs, targets, il, tl, blank, zero_infinity)
    x = log_probs.double().requires_grad_(True)
    y = F.ctc_loss(x, targets, il, tl, blank=blank, reduction=reduction,
                   zero_infinity=zero_infinity)
    out = {"log_probs": log_probs, "targets": targets, "input_lengths": il,
           "target_lengths": tl}
    if reduction == "none":
        gy = torch.randn(y.shape)
        (y * gy.double()).sum().backward()
        out["gy"] = gy
    else:
        y.backward()
    out["y"] = y.detach().float().reshape(y.shape)
    out["grad.log_probs"] = x.grad.float()
    hyper = {"blank": blank, "zero_infinity": zero_infinity}
    meta = {"case": name, "op": op, "torch_version": torch.__version__,
            "inputs": json.dumps(["log_probs", "targets", "input_lengths", "target_lengths"]),
            "outputs": '["y"]', "grads": '["grad.log_probs"]',
            "reduction": json.dumps(reduction),
            "hyperparameters": json.dumps(["reduction", *hyper])}
    for k, v in hyper.items():
        meta[k] = json.dumps(v)
    save_file({k: v.contiguous() for k, v in out.items()}, f"{name}.safetensors", meta)


def log_probs(*shape):
    return torch.randn(*shape).log_softmax(-1)


# Defaults: padded (N, S) targets, input and target lengths varying within the batch.
case("loss_ctc", "F.ctc_loss", log_probs(12, 4, 6),
     torch.tensor([[1, 2, 3, 4, 5], [3, 1, 5, 0, 0], [2, 4, 2, 1, 0], [5, 5, 0, 0, 0]]),
     [12, 10, 12, 7], [5, 3, 4, 2], "mean")
# The sum, concatenated 1-D targets (lengths 3, 1, 4).
case("loss_ctc_concat_sum", "F.ctc_loss(reduction='sum'), concatenated targets",
     log_probs(10, 3, 5), torch.tensor([1, 2, 1, 4, 3, 3, 2, 4]), [10, 6, 9], [3, 1, 4], "sum")
# None: repeated labels (a blank needed between), a run of three, an empty target.
case("loss_ctc_repeat_none", "F.ctc_loss(reduction='none'), repeated labels",
     log_probs(9, 4, 4),
     torch.tensor([[2, 2, 3, 0], [1, 1, 1, 0], [3, 0, 0, 0], [1, 2, 2, 1]]),
     [9, 8, 5, 9], [3, 3, 0, 4], "none")
# A non-zero blank (the last class); padding with class 0, a real label here.
case("loss_ctc_blank", "F.ctc_loss(blank=4)", log_probs(8, 3, 5),
     torch.tensor([[0, 1, 3], [2, 2, 0], [3, 0, 0]]), [8, 7, 4], [3, 2, 1], "mean", blank=4)
# zero_infinity: sample 1 needs 4 steps ("1 _ 1 2") and has 3; sample 2 needs 2 and has 1.
case("loss_ctc_zero_infinity_none", "F.ctc_loss(zero_infinity=True, reduction='none')",
     log_probs(6, 3, 4), torch.tensor([[1, 3, 2], [1, 1, 2], [2, 3, 0]]), [6, 3, 1], [3, 3, 2],
     "none", zero_infinity=True)
case("loss_ctc_zero_infinity", "F.ctc_loss(zero_infinity=True)",
     log_probs(6, 3, 4), torch.tensor([[1, 3, 2], [1, 1, 2], [2, 3, 0]]), [6, 3, 5], [3, 3, 2],
     "mean", zero_infinity=True)
# One sample: (T, C) log-probabilities, (S,) targets (as concatenated ones: S is the target
# length, PyTorch refuses a longer 1-D target), 0-d lengths.
case("loss_ctc_unbatched", "F.ctc_loss on an unbatched (T, C) input", log_probs(7, 5),
     torch.tensor([4, 1, 1]), 6, 3, "mean")

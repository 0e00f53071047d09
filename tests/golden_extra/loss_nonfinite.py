"""PyTorch reference for the losses at non-finite and extreme inputs (tests/golden_loss2.rs,
issue 14 item 7): what PyTorch 2.15 (CPU, float32) returns, inf and NaN included. Run inside
this folder; the output is byte-for-byte reproducible.

Same conventions as tests/golden/README.md, with each case's tensors prefixed `<case>.` in one
file, `loss_nonfinite.safetensors`, and each case's metadata (formula, inputs, outputs, grads,
hyperparameters) under its name in the one metadata entry `cases` (JSON). Every case uses `reduction="none"` and the cotangent `gy`
(all ones, so that a non-finite value in one element cannot leak into another), so
`grad.<name>` is the elementwise derivative. Computed in float32: the point is PyTorch's own
arithmetic on inf and NaN, not a more exact value.

* `bce_logits.*`: F.binary_cross_entropy_with_logits, `x` [9, 5]: row i holds logit
  LOGITS[i] (-inf, -100, -20, -1, 0, 1, 20, 100, inf; then NaN in a tenth row), column j
  target TARGETS[j] (0, 1, 0.3, NaN, 1.5). Gradients for `x` and `target`.
* `bce_logits_pw.*`: the same with `pos_weight` [5] = (2, 0.5, 3, 1.5, 1).
* `ce.*`: F.cross_entropy, logits `x` [6, 3] with +-inf and NaN entries, `labels` [6];
  gradient for `x`.
* `ce_smooth.*`: the same with label_smoothing = 0.2.
* `mse.*`: F.mse_loss with +-inf, NaN in `x` and `target` [8]; gradients for both.
* `bce.*`: F.binary_cross_entropy at the ends, `x` in {0, 1, 0.5} against targets
  {0, 1, 0.25} [9]; gradients for both (PyTorch rejects inputs and targets outside [0, 1],
  NaN included, so no non-finite value can enter).
* `ce_weight_smooth.*`, `ce_probs_weight.*` (finite, `reduction="mean"`, scalar `y`, no
  `gy`): F.cross_entropy with class `weight`, `ignore_index=1` and `label_smoothing=0.3` on
  labels; with `weight` and `label_smoothing=0.2` on probabilities (gradients for `x` and
  `target`). They pin down how PyTorch combines the three.
"""
import json
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

inf, nan = float("inf"), float("nan")
t, meta = {}, {}


def case(name, formula, inputs, outputs, grads, hyper=None):
    meta[name] = {"formula": formula, "inputs": inputs, "outputs": outputs,
                  "grads": grads, "hyperparameters": hyper or {}}


def put(prefix, **tensors):
    for k, v in tensors.items():
        t[f"{prefix}.{k}"] = v.detach().clone().contiguous()


LOGITS = [-inf, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, inf, nan]
TARGETS = [0.0, 1.0, 0.3, nan, 1.5]


def bce_logits(prefix, pos_weight):
    x = torch.tensor(LOGITS).unsqueeze(1).repeat(1, len(TARGETS)).requires_grad_()
    tg = torch.tensor(TARGETS).unsqueeze(0).repeat(len(LOGITS), 1).requires_grad_()
    y = F.binary_cross_entropy_with_logits(x, tg, pos_weight=pos_weight, reduction="none")
    gy = torch.ones_like(y)
    (y * gy).sum().backward()
    put(prefix, x=x, target=tg, y=y, gy=gy, **{"grad.x": x.grad, "grad.target": tg.grad})
    if pos_weight is not None:
        put(prefix, pos_weight=pos_weight)


bce_logits("bce_logits", None)
case("bce_logits", "F.binary_cross_entropy_with_logits(x, target, reduction='none')",
     ["x", "target"], ["y"], ["grad.x", "grad.target"])
bce_logits("bce_logits_pw", torch.tensor([2.0, 0.5, 3.0, 1.5, 1.0]))
case("bce_logits_pw", "... with pos_weight over the last axis",
     ["x", "target", "pos_weight"], ["y"], ["grad.x", "grad.target"])

CE_X = [[inf, 0.0, 1.0], [-inf, 0.0, 1.0], [-inf, 0.0, 1.0], [nan, 0.0, 1.0],
        [-inf, -inf, 1.0], [1e30, -1e30, 0.0]]
CE_LABELS = [1, 0, 2, 2, 2, 1]
for prefix, eps in [("ce", 0.0), ("ce_smooth", 0.2)]:
    x = torch.tensor(CE_X, requires_grad=True)
    labels = torch.tensor(CE_LABELS)
    y = F.cross_entropy(x, labels, reduction="none", label_smoothing=eps)
    gy = torch.ones_like(y)
    (y * gy).sum().backward()
    put(prefix, x=x, labels=labels, y=y, gy=gy, **{"grad.x": x.grad})
    case(prefix, "F.cross_entropy(x, labels, reduction='none', label_smoothing)",
         ["x", "labels"], ["y"], ["grad.x"], {"label_smoothing": eps})

x = torch.tensor([inf, inf, -inf, nan, 1.0, 1e20, 0.0, -inf], requires_grad=True)
tg = torch.tensor([inf, 0.0, 1.0, 0.0, nan, -1e20, -inf, -inf], requires_grad=True)
y = F.mse_loss(x, tg, reduction="none")
gy = torch.ones_like(y)
(y * gy).sum().backward()
put("mse", x=x, target=tg, y=y, gy=gy, **{"grad.x": x.grad, "grad.target": tg.grad})
case("mse", "F.mse_loss(x, target, reduction='none')", ["x", "target"], ["y"],
     ["grad.x", "grad.target"])

x = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5], requires_grad=True)
tg = torch.tensor([0.0, 1.0, 0.25, 0.0, 1.0, 0.25, 0.0, 1.0, 0.25], requires_grad=True)
y = F.binary_cross_entropy(x, tg, reduction="none")
gy = torch.ones_like(y)
(y * gy).sum().backward()
put("bce", x=x, target=tg, y=y, gy=gy, **{"grad.x": x.grad, "grad.target": tg.grad})
case("bce", "F.binary_cross_entropy(x, target, reduction='none')", ["x", "target"], ["y"],
     ["grad.x", "grad.target"])

# Finite cases for the interplay of class weights, ignore_index and label smoothing.
torch.manual_seed(0)
x = (3 * torch.randn(6, 4)).requires_grad_()
labels = torch.tensor([0, 1, 3, 1, 2, 0])
weight = torch.tensor([0.5, 2.0, 1.0, 3.0])
y = F.cross_entropy(x, labels, weight=weight, ignore_index=1, label_smoothing=0.3)
y.backward()
put("ce_weight_smooth", x=x, labels=labels, weight=weight, y=y, **{"grad.x": x.grad})
case("ce_weight_smooth", "F.cross_entropy(x, labels, weight, ignore_index=1, label_smoothing=0.3)",
     ["x", "labels", "weight"], ["y"], ["grad.x"],
     {"ignore_index": 1, "label_smoothing": 0.3, "reduction": "mean"})
x = (3 * torch.randn(6, 4)).requires_grad_()
probs = torch.softmax(torch.randn(6, 4), dim=1).requires_grad_()
y = F.cross_entropy(x, probs, weight=weight, label_smoothing=0.2)
y.backward()
put("ce_probs_weight", x=x, target=probs, weight=weight, y=y,
    **{"grad.x": x.grad, "grad.target": probs.grad})
case("ce_probs_weight", "F.cross_entropy(x, probs, weight, label_smoothing=0.2)",
     ["x", "target", "weight"], ["y"], ["grad.x", "grad.target"],
     {"label_smoothing": 0.2, "reduction": "mean"})

# One metadata key: the writer orders several keys at random, and the file is meant to be
# byte-for-byte reproducible.
metadata = {"cases": json.dumps({"torch_version": torch.__version__, **meta}, sort_keys=True)}
save_file(t, "loss_nonfinite.safetensors", metadata=metadata)
print(len(t), "tensors")
for k in ["bce_logits", "bce_logits_pw", "ce", "ce_smooth", "mse", "bce"]:
    print(k, t[k + ".y"].flatten().tolist())
    print("  gx", t[k + ".grad.x"].flatten().tolist())

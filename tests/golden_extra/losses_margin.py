"""PyTorch reference for the margin and likelihood losses (tests/golden_loss2.rs):
F.hinge_embedding_loss, F.soft_margin_loss, F.multilabel_soft_margin_loss,
F.margin_ranking_loss, F.poisson_nll_loss and F.gaussian_nll_loss, each with its defaults and
with other hyperparameters and reductions. Run with PyTorch 2.15 (CPU) inside this folder;
the tensors are byte-for-byte reproducible (the metadata's key order is not).

Same conventions as tests/golden/README.md and rmsnorm.py: one file per case, the inputs
stored in float32, the loss `y` and the gradients `grad.<input>` of `y` (a scalar for
"mean" and "sum") or of `sum(y * gy)` (for "none", with the stored cotangent `gy`) computed in
float64 from the stored float32 values and rounded to float32. The metadata holds the op,
the reduction and every hyperparameter (JSON), and lists the inputs and the gradients.
Gradients are stored for every input PyTorch differentiates: not the hinge embedding and
soft margin targets (PyTorch takes none for them). Some inputs are large (logits of +-30 to
+-100, variances below eps) to exercise the stable forms.
"""
import json
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(7)


def case(name, op, fn, inputs, grads, reduction, hyper):
    """`inputs`: name -> float32 tensor; `grads`: the names differentiated."""
    xs = {k: v.double().requires_grad_(k in grads) for k, v in inputs.items()}
    y = fn(*xs.values(), reduction=reduction, **hyper)
    out = {k: v.float() for k, v in inputs.items()}
    if reduction == "none":
        gy = torch.randn(y.shape)
        (y * gy.double()).sum().backward()
        out["gy"] = gy
    else:
        y.backward()
    out["y"] = y.detach().float().reshape(y.shape)
    for k in grads:
        out[f"grad.{k}"] = xs[k].grad.float()
    meta = {"case": name, "op": op, "torch_version": torch.__version__,
            "inputs": json.dumps(list(inputs)), "outputs": '["y"]',
            "grads": json.dumps([f"grad.{k}" for k in grads]),
            "reduction": json.dumps(reduction),
            "hyperparameters": json.dumps(["reduction", *hyper])}
    for k, v in hyper.items():
        meta[k] = json.dumps(v)
    save_file({k: v.contiguous() for k, v in out.items()}, f"{name}.safetensors", meta)


def signs(*shape):
    return torch.randint(0, 2, shape).float() * 2 - 1


# Hinge embedding: distances, labels in {1, -1} (and 0.5, neither: PyTorch adds both terms).
x = torch.rand(4, 5) * 3
case("loss_hinge_embedding", "F.hinge_embedding_loss",
     F.hinge_embedding_loss, {"x": x, "target": signs(4, 5)}, ["x"], "mean", {})
t = signs(6, 3)
t[0, 0], t[3, 2] = 0.5, 0.0
case("loss_hinge_embedding_margin_none", "F.hinge_embedding_loss(margin=2.0)",
     F.hinge_embedding_loss, {"x": torch.randn(6, 3) * 2, "target": t}, ["x"], "none",
     {"margin": 2.0})
case("loss_hinge_embedding_margin_sum", "F.hinge_embedding_loss(margin=0.5)",
     F.hinge_embedding_loss, {"x": torch.rand(7) * 2, "target": signs(7)}, ["x"], "sum",
     {"margin": 0.5})

# Soft margin: moderate scores, and scores of +-30 and +-100 against both labels.
case("loss_soft_margin", "F.soft_margin_loss", F.soft_margin_loss,
     {"x": torch.randn(3, 4) * 2, "target": signs(3, 4)}, ["x"], "mean", {})
big = torch.tensor([-100.0, -30.0, 30.0, 100.0]).repeat(2)
case("loss_soft_margin_large_none", "F.soft_margin_loss at large |x|", F.soft_margin_loss,
     {"x": big, "target": torch.tensor([1.0] * 4 + [-1.0] * 4)}, ["x"], "none", {})
case("loss_soft_margin_sum", "F.soft_margin_loss", F.soft_margin_loss,
     {"x": torch.randn(5) * 3, "target": signs(5)}, ["x"], "sum", {})

# Multi-label soft margin: logits (N, C), 0/1 targets; class weight; large logits; (C,).
case("loss_multilabel_soft_margin", "F.multilabel_soft_margin_loss",
     F.multilabel_soft_margin_loss,
     {"x": torch.randn(4, 5) * 2, "target": torch.randint(0, 2, (4, 5)).float()},
     ["x", "target"], "mean", {})
xl = torch.randn(3, 4) * 2
xl[0] = torch.tensor([-50.0, 50.0, -30.0, 30.0])


def multilabel_weighted(x, target, weight, reduction):
    return F.multilabel_soft_margin_loss(x, target, weight=weight, reduction=reduction)


case("loss_multilabel_soft_margin_weight_none", "F.multilabel_soft_margin_loss(weight=w)",
     multilabel_weighted,
     {"x": xl, "target": torch.randint(0, 2, (3, 4)).float(),
      "weight": torch.rand(4) + 0.5}, ["x", "target"], "none", {})
case("loss_multilabel_soft_margin_1d_sum", "F.multilabel_soft_margin_loss on one sample (C,)",
     F.multilabel_soft_margin_loss,
     {"x": torch.randn(6), "target": torch.randint(0, 2, (6,)).float()},
     ["x", "target"], "sum", {})

# Margin ranking: three inputs of one shape.
case("loss_margin_ranking", "F.margin_ranking_loss", F.margin_ranking_loss,
     {"x1": torch.randn(8), "x2": torch.randn(8), "target": signs(8)},
     ["x1", "x2", "target"], "mean", {})
case("loss_margin_ranking_margin_none", "F.margin_ranking_loss(margin=0.7)",
     F.margin_ranking_loss,
     {"x1": torch.randn(3, 4), "x2": torch.randn(3, 4), "target": signs(3, 4)},
     ["x1", "x2", "target"], "none", {"margin": 0.7})

# Poisson NLL: log rates (default); rates with full=True (targets 0.5 to 8, the Stirling term
# on where t > 1); log rates with full=True, eps and sum.
counts = torch.randint(0, 7, (4, 5)).float()
case("loss_poisson_nll", "F.poisson_nll_loss", F.poisson_nll_loss,
     {"x": torch.randn(4, 5), "target": counts}, ["x", "target"], "mean", {})
t = torch.tensor([0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 1.0, 2.0, 4.0, 0.25, 6.0]).reshape(3, 4)
case("loss_poisson_nll_rate_full_none",
     "F.poisson_nll_loss(log_input=False, full=True, eps=1e-4)", F.poisson_nll_loss,
     {"x": torch.rand(3, 4) * 4 + 0.1, "target": t}, ["x", "target"], "none",
     {"log_input": False, "full": True, "eps": 1e-4})
case("loss_poisson_nll_full_sum", "F.poisson_nll_loss(full=True)", F.poisson_nll_loss,
     {"x": torch.randn(3, 4) * 1.5, "target": t}, ["x", "target"], "sum",
     {"log_input": True, "full": True})

# Gaussian NLL: heteroscedastic variance; one variance per row (N, 1) with full=True;
# variances below eps (clamped in value, the gradient as if unclamped).
case("loss_gaussian_nll", "F.gaussian_nll_loss", F.gaussian_nll_loss,
     {"x": torch.randn(4, 3), "target": torch.randn(4, 3), "var": torch.rand(4, 3) + 0.1},
     ["x", "target", "var"], "mean", {})
case("loss_gaussian_nll_full_homoscedastic_none", "F.gaussian_nll_loss(full=True), var (N, 1)",
     F.gaussian_nll_loss,
     {"x": torch.randn(5, 3), "target": torch.randn(5, 3), "var": torch.rand(5, 1) + 0.2},
     ["x", "target", "var"], "none", {"full": True})
v = torch.rand(2, 4) + 0.1
v[0, 1], v[1, 3], v[1, 0] = 1e-4, 0.0, 5e-4
case("loss_gaussian_nll_clamped_sum", "F.gaussian_nll_loss(eps=1e-3)", F.gaussian_nll_loss,
     {"x": torch.randn(2, 4), "target": torch.randn(2, 4), "var": v},
     ["x", "target", "var"], "sum", {"eps": 1e-3})

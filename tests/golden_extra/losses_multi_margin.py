"""PyTorch reference for the class margin losses and the triplet loss with a distance function
(tests/golden_loss2.rs): F.multi_margin_loss (defaults, p=2, margin, class weight, a (C,)
input with a scalar label), F.multilabel_margin_loss (targets ended by -1, entries after the
-1 ignored, repeated targets, an empty list, a full list, a (C,) input) and
F.triplet_margin_with_distance_loss (the default pairwise distance, a cosine distance
1 - cosine_similarity as in PyTorch's docs, the swap), with the reductions none, sum and mean.
Run with PyTorch 2.15 (CPU) inside this folder; the tensors are byte-for-byte reproducible
(the metadata's key order is not).

Same conventions as losses_margin.py and tests/golden/README.md: one file per case, the float
inputs stored in float32, the int64 class indices as `labels`, the loss `y` and the gradients
`grad.<input>` of `y` (a scalar for "mean" and "sum") or of `sum(y * gy)` (for "none", with
the stored cotangent `gy`) computed in float64 from the stored float32 values and rounded to
float32. The metadata holds the op, the reduction and every hyperparameter (JSON), and lists
the inputs and the gradients. Gradients are stored for every float input PyTorch
differentiates except the class weights (constants).
"""
import json
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(11)


def case(name, op, fn, inputs, grads, reduction, hyper, meta_extra=None):
    """`inputs`: name -> float32 or int64 tensor; `grads`: the names differentiated."""
    xs = {k: (v.double().requires_grad_(k in grads) if v.is_floating_point() else v)
          for k, v in inputs.items()}
    y = fn(*xs.values(), reduction=reduction, **hyper)
    out = {k: (v.float() if v.is_floating_point() else v) for k, v in inputs.items()}
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
            "hyperparameters": json.dumps(["reduction", *hyper, *(meta_extra or {})])}
    for k, v in hyper.items():
        meta[k] = json.dumps(v)
    for k, v in (meta_extra or {}).items():
        meta[k] = json.dumps(v)
    save_file({k: v.contiguous() for k, v in out.items()}, f"{name}.safetensors", meta)


def multi_margin_weighted(x, labels, weight, reduction, **hyper):
    return F.multi_margin_loss(x, labels, weight=weight, reduction=reduction, **hyper)


# Multi-margin: scores (N, C) of moderate size, so that some hinges are on and some off.
case("loss_multi_margin", "F.multi_margin_loss", F.multi_margin_loss,
     {"x": torch.randn(6, 5), "labels": torch.randint(0, 5, (6,))}, ["x"], "mean", {})
case("loss_multi_margin_p2_none", "F.multi_margin_loss(p=2, margin=0.7)", F.multi_margin_loss,
     {"x": torch.randn(5, 4) * 1.5, "labels": torch.tensor([0, 3, 3, 1, 2])}, ["x"], "none",
     {"p": 2, "margin": 0.7})
case("loss_multi_margin_weight_sum", "F.multi_margin_loss(margin=1.5, weight=w)",
     multi_margin_weighted,
     {"x": torch.randn(4, 6), "labels": torch.tensor([5, 0, 2, 5]),
      "weight": torch.rand(6) + 0.25}, ["x"], "sum", {"p": 1, "margin": 1.5})
case("loss_multi_margin_weight_p2_mean", "F.multi_margin_loss(p=2, weight=w)",
     multi_margin_weighted,
     {"x": torch.randn(5, 3), "labels": torch.tensor([2, 1, 0, 2, 1]),
      "weight": torch.rand(3) + 0.5}, ["x"], "mean", {"p": 2, "margin": 1.0})
case("loss_multi_margin_1d_none", "F.multi_margin_loss on one sample (C,), a 0-d label",
     F.multi_margin_loss, {"x": torch.randn(7), "labels": torch.tensor(2)}, ["x"], "none",
     {"p": 1, "margin": 1.0})

# Multi-label margin: each row lists its classes up to the first -1 (what follows is ignored,
# even valid class indices); a repeated class counts twice; a row starting with -1 has no
# target (loss 0); a row listing every class has no non-target (loss 0).
case("loss_multilabel_margin", "F.multilabel_margin_loss", F.multilabel_margin_loss,
     {"x": torch.randn(4, 5),
      "labels": torch.tensor([[3, 0, -1, 1, 2], [1, -1, 4, 4, 4], [4, 2, 0, -1, -1],
                              [2, -1, -1, -1, -1]])}, ["x"], "mean", {})
case("loss_multilabel_margin_repeat_none", "F.multilabel_margin_loss, repeated targets",
     F.multilabel_margin_loss,
     {"x": torch.randn(5, 4) * 1.5,
      "labels": torch.tensor([[1, 1, -1, 0], [0, 2, 0, -1], [-1, 1, 2, 3], [3, 2, 1, 0],
                              [2, 3, 3, 3]])}, ["x"], "none", {})
case("loss_multilabel_margin_1d_sum", "F.multilabel_margin_loss on one sample (C,)",
     F.multilabel_margin_loss,
     {"x": torch.randn(6), "labels": torch.tensor([5, 1, -1, 0, 0, 2])}, ["x"], "sum", {})


def cosine_distance(x1, x2):
    return 1.0 - F.cosine_similarity(x1, x2)


def triplet(distance):
    def fn(anchor, positive, negative, reduction, **hyper):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=distance, reduction=reduction,
            **hyper)
    return fn


def triplets(n, d):
    return {"anchor": torch.randn(n, d), "positive": torch.randn(n, d),
            "negative": torch.randn(n, d)}


abc = ["anchor", "positive", "negative"]
case("loss_triplet_distance", "F.triplet_margin_with_distance_loss", triplet(None),
     triplets(8, 6), abc, "mean", {}, {"distance": "pairwise"})
case("loss_triplet_distance_swap_sum", "F.triplet_margin_with_distance_loss(swap=True)",
     triplet(None), triplets(8, 6), abc, "sum", {"margin": 2.0, "swap": True},
     {"distance": "pairwise"})
case("loss_triplet_distance_cosine_none",
     "F.triplet_margin_with_distance_loss(distance_function=1 - cosine_similarity, margin=0.5)",
     triplet(cosine_distance), triplets(8, 6), abc, "none", {"margin": 0.5},
     {"distance": "cosine"})
case("loss_triplet_distance_cosine_swap",
     "F.triplet_margin_with_distance_loss(distance_function=1 - cosine_similarity, swap=True)",
     triplet(cosine_distance), triplets(8, 6), abc, "mean", {"margin": 1.0, "swap": True},
     {"distance": "cosine"})

"""PyTorch references for the distances and the embedding losses (tests/golden_ops2.rs and
tests/golden_loss2.rs): F.normalize, F.cosine_similarity, F.pairwise_distance,
nn.CosineEmbeddingLoss and nn.TripletMarginLoss. Run with PyTorch 2.15 (CPU) inside this
folder; the tensors are byte-for-byte reproducible (the metadata's key order is not).

Same conventions as tests/golden/README.md: inputs stored in float32; the reference computed
in float64 from the stored values by PyTorch's own functions and rounded to float32; `y` the
output; for an unreduced output the cotangent `gy` and `grad.<input>` of `sum(y * gy)`, for a
scalar loss `grad.<input>` of the loss itself. Metadata: the op, its hyperparameters (JSON)
and the names of the inputs and gradients.

* `dist_normalize`: F.normalize(x, p=2, dim=1, eps=1e-12), x [5, 6] whose row 3 is near
  zero (norm below eps: divided by eps, no gradient through the norm) and row 4 exactly 0.
* `dist_normalize_p1`: the same with p=1, x [4, 7].
* `dist_cosine_similarity`: F.cosine_similarity(x1, x2, dim=1, eps=1e-8), [6, 8], x1's row
  4 exactly 0 and row 5 near zero (norms below eps: PyTorch clamps them without recording
  the clamp, so the gradient flows through the unclamped norm).
* `dist_pairwise_p2`, `dist_pairwise_p1`, `dist_pairwise_p3`: F.pairwise_distance(x1, x2,
  p, eps=1e-6), [5, 7]; `dist_pairwise_keepdim`: p=2, keepdim=True ([5, 1] out).
* `loss_cosine_embedding`: nn.CosineEmbeddingLoss() (margin 0, mean), x1, x2 [8, 5], target
  y of 1 and -1 [8]; x1's row 2 exactly 0 (PyTorch's EPSILON 1e-12 keeps it finite).
* `loss_cosine_embedding_margin`: margin=0.5, reduction="sum".
* `loss_cosine_embedding_none`: margin=0.5, reduction="none" (cotangent `gy`).
* `loss_triplet`: nn.TripletMarginLoss() (margin 1, p 2, eps 1e-6, no swap, mean),
  anchor, positive, negative [8, 6].
* `loss_triplet_swap`: swap=True, with negatives that sit nearer the positive than the
  anchor for some rows, so the swap changes the loss.
* `loss_triplet_p1`: p=1, margin=0.5.
* `loss_triplet_none`: reduction="none" (cotangent `gy`), margin 2.
"""
import json
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(5)


def save(name, op, hyper, inputs, out, loss_is_scalar):
    """`inputs`: name -> float32 tensor; `out(**float64 inputs)` the reference."""
    xs = {k: v.double().requires_grad_() for k, v in inputs.items()}
    y = out(**xs)
    tensors = {k: v for k, v in inputs.items()}
    meta = {"case": name, "op": op, "torch_version": torch.__version__,
            "inputs": json.dumps(list(inputs)), "outputs": '["y"]',
            "hyperparameters": json.dumps(list(hyper)),
            "grads": json.dumps([f"grad.{k}" for k in inputs])}
    for k, v in hyper.items():
        meta[k] = json.dumps(v)
    if loss_is_scalar:
        assert y.dim() == 0
        y.backward()
        meta["loss"] = "y"
    else:
        gy = torch.randn(y.shape)
        (y * gy.double()).sum().backward()
        tensors["gy"] = gy
        meta["cotangents"] = '{"y": "gy"}'
        meta["loss"] = "sum(y * gy)"
    tensors["y"] = y.detach().float()
    for k, v in xs.items():
        assert torch.isfinite(v.grad).all(), (name, k)
        tensors[f"grad.{k}"] = v.grad.float()
    save_file(tensors, f"{name}.safetensors", meta)


# F.normalize
x = torch.randn(5, 6)
x[3] *= 1e-13
x[4] = 0.0
save("dist_normalize", "F.normalize(x, p=2.0, dim=1, eps=1e-12)", {"p": 2.0, "eps": 1e-12},
     {"x": x}, lambda x: F.normalize(x, p=2.0, dim=1, eps=1e-12), False)
x = torch.randn(4, 7)
save("dist_normalize_p1", "F.normalize(x, p=1.0, dim=1, eps=1e-12)", {"p": 1.0, "eps": 1e-12},
     {"x": x}, lambda x: F.normalize(x, p=1.0, dim=1, eps=1e-12), False)

# F.cosine_similarity
x1, x2 = torch.randn(6, 8), torch.randn(6, 8)
x1[4] = 0.0
x1[5] *= 1e-10
save("dist_cosine_similarity", "F.cosine_similarity(x1, x2, dim=1, eps=1e-8)", {"eps": 1e-8},
     {"x1": x1, "x2": x2}, lambda x1, x2: F.cosine_similarity(x1, x2, dim=1, eps=1e-8), False)

# F.pairwise_distance
for p in (2.0, 1.0, 3.0):
    x1, x2 = torch.randn(5, 7), torch.randn(5, 7)
    save(f"dist_pairwise_p{int(p)}", f"F.pairwise_distance(x1, x2, p={p}, eps=1e-6)",
         {"p": p, "eps": 1e-6, "keepdim": False}, {"x1": x1, "x2": x2},
         lambda x1, x2, p=p: F.pairwise_distance(x1, x2, p=p, eps=1e-6), False)
x1, x2 = torch.randn(5, 7), torch.randn(5, 7)
save("dist_pairwise_keepdim", "F.pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=True)",
     {"p": 2.0, "eps": 1e-6, "keepdim": True}, {"x1": x1, "x2": x2},
     lambda x1, x2: F.pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=True), False)

# nn.CosineEmbeddingLoss: the target is stored but gets no gradient.
def cos_emb(name, margin, reduction):
    x1, x2 = torch.randn(8, 5), torch.randn(8, 5)
    x1[2] = 0.0
    y = torch.tensor([1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0])
    # away from the hinge: |cos - margin| > 1e-3 for every dissimilar pair
    cos = F.cosine_similarity(x1.double(), x2.double(), dim=1)
    assert ((cos - margin).abs() > 1e-3)[y == -1].all()
    loss = torch.nn.CosineEmbeddingLoss(margin=margin, reduction=reduction)
    xs = {"x1": x1, "x2": x2}
    save(name, f"torch.nn.CosineEmbeddingLoss(margin={margin}, reduction={reduction!r})(x1, x2, target)",
         {"margin": margin, "reduction": reduction}, xs,
         lambda x1, x2: loss(x1, x2, y.double()), reduction != "none")
    # the target, stored beside the inputs
    from safetensors.torch import save_file as sf
    from safetensors import safe_open
    with safe_open(f"{name}.safetensors", "pt") as f:
        meta = f.metadata()
        t = {k: f.get_tensor(k) for k in f.keys()}
    t["target"] = y
    meta["target"] = "target (1 similar, -1 dissimilar; no gradient)"
    sf(t, f"{name}.safetensors", meta)


cos_emb("loss_cosine_embedding", 0.0, "mean")
cos_emb("loss_cosine_embedding_margin", 0.5, "sum")
cos_emb("loss_cosine_embedding_none", 0.5, "none")


# nn.TripletMarginLoss
def triplet(name, margin, p, swap, reduction, near=False):
    a, pos, neg = torch.randn(8, 6), torch.randn(8, 6), torch.randn(8, 6)
    if near:
        neg[::2] = pos[::2] + 0.3 * torch.randn(4, 6)
    kw = dict(margin=margin, p=p, eps=1e-6, swap=swap, reduction=reduction)
    da = F.pairwise_distance(a.double(), pos.double(), p=p, eps=1e-6)
    dn = F.pairwise_distance(a.double(), neg.double(), p=p, eps=1e-6)
    if swap:
        ds = F.pairwise_distance(pos.double(), neg.double(), p=p, eps=1e-6)
        assert ((dn - ds).abs() > 1e-3).all()
        if near:
            assert (ds < dn).any()
        dn = torch.minimum(dn, ds)
    assert ((margin + da - dn).abs() > 1e-3).all()
    loss = torch.nn.TripletMarginLoss(**kw)
    save(name, f"torch.nn.TripletMarginLoss({', '.join(f'{k}={v!r}' for k, v in kw.items())})",
         kw, {"anchor": a, "positive": pos, "negative": neg},
         lambda anchor, positive, negative: loss(anchor, positive, negative), reduction != "none")


triplet("loss_triplet", 1.0, 2.0, False, "mean")
triplet("loss_triplet_swap", 1.0, 2.0, True, "mean", near=True)
triplet("loss_triplet_p1", 0.5, 1.0, False, "mean")
triplet("loss_triplet_none", 2.0, 2.0, False, "none")

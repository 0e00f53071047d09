"""PyTorch reference for InstanceNorm (tests/golden_instancenorm.rs): `nn.InstanceNorm1d`
with PyTorch's defaults (no affine map) and `nn.InstanceNorm2d(affine=True)` with random
weight and bias, `eps=1e-3`. Run with PyTorch 2.15 (CPU) inside this folder; the tensors
are byte-for-byte reproducible (the metadata's key order is not).

Same conventions as tests/golden/README.md: `x` (and `weight`, `bias`) float32, `y`, the
cotangent `gy`, `grad.x` (and `grad.weight`, `grad.bias`) of `sum(y * gy)`, computed in
float64 from the stored float32 values and rounded to float32.
"""
import json
import torch
from safetensors.torch import save_file

torch.manual_seed(3)


def case(name, layer, shape, hyper):
    layer = layer.double()
    t = {}
    if layer.affine:
        with torch.no_grad():
            layer.weight.copy_((torch.rand(shape[1]) + 0.5).float().double())
            layer.bias.copy_(torch.randn(shape[1]).float().double())
    x32 = torch.randn(*shape) * 1.5 + 0.7
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*shape)
    (y * gy.double()).sum().backward()
    t.update({"x": x32, "y": y.detach().float(), "gy": gy, "grad.x": x.grad.float()})
    params = []
    if layer.affine:
        for n, p in layer.named_parameters():
            t[n] = p.detach().float()
            t["grad." + n] = p.grad.float()
            params.append(n)
    meta = {"case": name, "op": repr(layer), "torch_version": torch.__version__,
            "inputs": '["x"]', "params": json.dumps(params), "outputs": '["y"]',
            "cotangents": '{"y": "gy"}', "loss": "sum(y * gy)",
            "grads": json.dumps(["grad.x"] + ["grad." + p for p in params]),
            "hyperparameters": json.dumps(list(hyper))}
    meta.update({k: json.dumps(v) for k, v in hyper.items()})
    save_file(t, f"{name}.safetensors", meta)


case("layer_instancenorm1d", torch.nn.InstanceNorm1d(3), (2, 3, 7), {"eps": 1e-5})
case("layer_instancenorm2d_affine", torch.nn.InstanceNorm2d(4, eps=1e-3, affine=True),
     (2, 4, 5, 5), {"eps": 1e-3})

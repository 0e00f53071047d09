"""PyTorch reference for RMSNorm (tests/golden_rmsnorm.rs): `nn.RMSNorm` with the default
`eps` (None: the float32 machine epsilon for float32 inputs, used explicitly below since the
reference runs in float64), with `eps=1e-5`, and over rows long enough for the vector loops
and their remainder. Run with PyTorch 2.15 (CPU) inside this folder; the tensors are
byte-for-byte reproducible (the metadata's key order is not).

Same conventions as tests/golden/README.md: `x`, `weight` float32, `y`, the cotangent `gy`,
`grad.x` and `grad.weight` of `sum(y * gy)`, computed in float64 from the stored float32
values and rounded to float32; `eps` (the value used) and `eps_default` in the metadata.
"""
import json
import torch
from safetensors.torch import save_file

torch.manual_seed(2)


def case(name, shape, eps):
    d = shape[-1]
    used = torch.finfo(torch.float32).eps if eps is None else eps
    layer = torch.nn.RMSNorm(d, eps=used).double()
    with torch.no_grad():
        layer.weight.copy_((torch.rand(d) + 0.5).float().double())
    x32 = torch.randn(*shape) * 2 + 0.3
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*shape)
    (y * gy.double()).sum().backward()
    meta = {"case": name, "op": f"torch.nn.RMSNorm({d}, eps={eps})",
            "torch_version": torch.__version__, "inputs": '["x"]', "params": '["weight"]',
            "outputs": '["y"]', "cotangents": '{"y": "gy"}', "loss": "sum(y * gy)",
            "grads": '["grad.x", "grad.weight"]', "hyperparameters": '["eps", "eps_default"]',
            "eps": json.dumps(used), "eps_default": json.dumps(eps is None)}
    save_file({"x": x32, "weight": layer.weight.detach().float(), "y": y.detach().float(),
               "gy": gy, "grad.x": x.grad.float(), "grad.weight": layer.weight.grad.float()},
              f"{name}.safetensors", meta)


case("layer_rmsnorm", (2, 3, 8), None)
case("layer_rmsnorm_eps", (4, 6), 1e-5)
case("layer_rmsnorm_long", (3, 300), None)

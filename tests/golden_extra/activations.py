"""PyTorch reference for the activations the golden set lacks (tests/golden_elementwise.rs
through tests/common/unary_ops.rs, and tests/golden_activations.rs for PReLU): ELU, SELU,
CELU, Hardtanh, ReLU6, Hardsigmoid, Hardswish, Mish, Softsign, LogSigmoid, Tanhshrink,
Hardshrink, Softshrink, Threshold and PReLU (one slope, and one per channel on 2-D and 4-D
inputs). Run with PyTorch 2.15 (CPU) inside this folder; the tensors are byte-for-byte
reproducible (the metadata's key order is not).

Same conventions as tests/golden/README.md, one file per case (`unary_<op>.safetensors`,
`layer_prelu*.safetensors`): `x` float32 [4, 7] (unary cases) kept at least 0.05 away from
the op's kinks and jumps, `y`, the cotangent `gy`, `grad.x` (and `grad.weight` for PReLU) of
`sum(y * gy)`, computed in float64 from the stored float32 inputs and rounded to float32;
hyperparameters as JSON values in the metadata, listed under `hyperparameters`.
"""
import json
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(15)


def inputs(shape, scale, shift, kinks):
    """float32 values, resampled until every one is 0.05 away from each kink."""
    x = torch.randn(*shape) * scale + shift
    for _ in range(100):
        near = torch.zeros_like(x, dtype=torch.bool)
        for k in kinks:
            near |= (x - k).abs() < 0.05
        if not near.any():
            return x
        x = torch.where(near, torch.randn(*shape) * scale + shift, x)
    raise RuntimeError("could not keep clear of the kinks")


def save(case, op, tensors, hyper, grads):
    meta = {
        "case": case, "op": op, "torch_version": torch.__version__,
        "inputs": json.dumps([n for n in tensors if n == "x"]),
        "params": json.dumps([n for n in tensors if n == "weight"]),
        "outputs": '["y"]', "cotangents": '{"y": "gy"}', "loss": "sum(y * gy)",
        "grads": json.dumps(["grad." + g for g in grads]),
        "hyperparameters": json.dumps(list(hyper)),
    }
    meta.update({k: json.dumps(v) for k, v in hyper.items()})
    save_file({k: v.contiguous() for k, v in tensors.items()}, f"{case}.safetensors", meta)


def unary(name, op, f, hyper, scale=2.0, shift=0.0, kinks=()):
    x32 = inputs((4, 7), scale, shift, kinks)
    x = x32.double().requires_grad_()
    y = f(x, **hyper)
    gy = torch.randn(4, 7)
    (y * gy.double()).sum().backward()
    save(f"unary_{name}", op, {"x": x32, "y": y.detach().float(), "gy": gy,
                               "grad.x": x.grad.float()}, hyper, ["x"])


unary("elu", "torch.nn.functional.elu", F.elu, {"alpha": 1.3}, kinks=[0.0])
unary("selu", "torch.nn.functional.selu", F.selu, {}, kinks=[0.0])
unary("celu", "torch.nn.functional.celu", F.celu, {"alpha": 0.7}, kinks=[0.0])
unary("hardtanh", "torch.nn.functional.hardtanh", F.hardtanh,
      {"min_val": -0.8, "max_val": 1.2}, scale=1.5, kinks=[-0.8, 1.2])
unary("relu6", "torch.nn.functional.relu6", F.relu6, {}, scale=4.0, shift=2.0,
      kinks=[0.0, 6.0])
unary("hardsigmoid", "torch.nn.functional.hardsigmoid", F.hardsigmoid, {}, scale=3.0,
      kinks=[-3.0, 3.0])
unary("hardswish", "torch.nn.functional.hardswish", F.hardswish, {}, scale=3.0,
      kinks=[-3.0, 3.0])
unary("mish", "torch.nn.functional.mish", F.mish, {}, scale=3.0)
unary("softsign", "torch.nn.functional.softsign", F.softsign, {}, scale=3.0)
unary("logsigmoid", "torch.nn.functional.logsigmoid", F.logsigmoid, {}, scale=4.0)
unary("tanhshrink", "torch.nn.functional.tanhshrink", F.tanhshrink, {})
unary("hardshrink", "torch.nn.functional.hardshrink", F.hardshrink, {"lambd": 0.6},
      scale=1.5, kinks=[-0.6, 0.6])
unary("softshrink", "torch.nn.functional.softshrink", F.softshrink, {"lambd": 0.4},
      scale=1.5, kinks=[-0.4, 0.4])
unary("threshold", "torch.nn.functional.threshold", F.threshold,
      {"threshold": 0.3, "value": -2.0}, kinks=[0.3])


def prelu(case, shape, num_parameters):
    layer = torch.nn.PReLU(num_parameters).double()
    with torch.no_grad():
        layer.weight.copy_(torch.rand(num_parameters).float().double() * 0.6 - 0.1)
    x32 = inputs(shape, 2.0, 0.0, [0.0])
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*y.shape)
    (y * gy.double()).sum().backward()
    save(case, f"torch.nn.PReLU({num_parameters})",
         {"x": x32, "weight": layer.weight.detach().float(), "y": y.detach().float(),
          "gy": gy, "grad.x": x.grad.float(), "grad.weight": layer.weight.grad.float()},
         {"num_parameters": num_parameters}, ["x", "weight"])


prelu("layer_prelu", (3, 4, 5), 1)
prelu("layer_prelu_channels", (2, 3, 4, 5), 3)
prelu("layer_prelu_channels_2d", (5, 4), 4)

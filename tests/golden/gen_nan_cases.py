"""Generates the nan_*.safetensors reference cases: PyTorch's NaN and infinity semantics for
activations, clamp, max pooling and max/min reductions (issue 14).

Same conventions as the other files here (README.md): float32 tensors, int64 indices,
values computed in float64 from the stored float32 inputs and rounded to float32, gradients
of L = sum(y * gy) with a random finite cotangent gy. Inputs hold NaN, +inf and -inf next to
ordinary values, so the stored outputs and gradients may be NaN or infinite themselves.

Run with PyTorch 2.15 (CPU) and the safetensors package:
    python tests/golden/gen_nan_cases.py
"""

import json
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
NAN, INF = float("nan"), float("inf")


def save(case, op, formula, tensors, inputs, outputs, grads, hyper=None, seed=14):
    meta = {
        "case": case,
        "group": "nan",
        "op": op,
        "formula": formula,
        "inputs": json.dumps(inputs),
        "outputs": json.dumps(outputs),
        "params": "[]",
        "grads": json.dumps(grads),
        "cotangents": json.dumps({"y": "gy"} if "gy" in tensors else {}),
        "loss": "sum(y * gy)" if grads else "none",
        "hyperparameters": json.dumps(sorted((hyper or {}).keys())),
        "seed": str(seed),
        "torch_version": torch.__version__,
    }
    for k, v in (hyper or {}).items():
        meta[k] = json.dumps(v)
    out = {}
    for name, t in tensors.items():
        t = t.detach()
        out[name] = t.contiguous() if t.dtype == torch.int64 else t.to(torch.float32).contiguous()
    save_file(out, os.path.join(HERE, case + ".safetensors"), metadata=meta)


def unary_case(name, fn, op, formula, hyper=None):
    g = torch.Generator().manual_seed(14)
    x32 = torch.tensor([[NAN, INF, -INF, -2.5], [-0.5, 0.75, 3.0, NAN]], dtype=torch.float32)
    gy = torch.randn(x32.shape, generator=g, dtype=torch.float32)
    x = x32.double().requires_grad_(True)
    y = fn(x)
    (y * gy.double()).sum().backward()
    save(
        "nan_unary_" + name,
        op,
        formula,
        {"x": x32, "y": y, "gy": gy, "grad.x": x.grad},
        ["x"],
        ["y"],
        ["grad.x"],
        hyper,
    )


def main():
    unary_case("relu", F.relu, "torch.nn.functional.relu", "y = max(x, 0); relu(NaN) = NaN")
    unary_case(
        "leaky_relu",
        lambda x: F.leaky_relu(x, 0.01),
        "torch.nn.functional.leaky_relu",
        "y = x if x > 0 else 0.01 x",
        {"negative_slope": 0.01},
    )
    unary_case("sigmoid", torch.sigmoid, "torch.sigmoid", "y = 1 / (1 + exp(-x))")
    unary_case("tanh", torch.tanh, "torch.tanh", "y = tanh(x)")
    unary_case("silu", F.silu, "torch.nn.functional.silu", "y = x sigmoid(x)")
    unary_case("gelu_erf", F.gelu, "torch.nn.functional.gelu", "y = x Phi(x)")
    unary_case(
        "gelu_tanh",
        lambda x: F.gelu(x, approximate="tanh"),
        "torch.nn.functional.gelu",
        "GELU, tanh approximation",
        {"approximate": "tanh"},
    )
    unary_case(
        "softplus",
        lambda x: F.softplus(x, beta=1.0, threshold=20.0),
        "torch.nn.functional.softplus",
        "y = log(1 + exp(x)), x above the threshold passes through",
        {"beta": 1.0, "threshold": 20.0},
    )
    unary_case(
        "clamp",
        lambda x: torch.clamp(x, -1.0, 1.0),
        "torch.clamp",
        "y = min(max(x, -1), 1); clamp(NaN) = NaN",
        {"min": -1.0, "max": 1.0},
    )

    # Max pooling: windows holding NaN, +inf, -inf, and an all -inf window.
    g = torch.Generator().manual_seed(15)
    x32 = torch.randn(1, 2, 4, 4, generator=g, dtype=torch.float32)
    x32[0, 0, 0, 1] = NAN
    x32[0, 0, 1, 0] = NAN
    x32[0, 0, 0, 2] = INF
    x32[0, 0, 2:, 0:2] = -INF
    x32[0, 1, 3, 3] = NAN
    x32[0, 1, 2, 2] = INF
    gy = torch.randn(1, 2, 2, 2, generator=g, dtype=torch.float32)
    x = x32.double().requires_grad_(True)
    y = F.max_pool2d(x, 2, 2)
    (y * gy.double()).sum().backward()
    save(
        "nan_maxpool2d",
        "torch.nn.functional.max_pool2d",
        "max over each 2x2 window; a NaN in the window gives NaN and takes the gradient",
        {"x": x32, "y": y, "gy": gy, "grad.x": x.grad},
        ["x"],
        ["y"],
        ["grad.x"],
        {"kernel_size": [2, 2], "stride": [2, 2]},
        seed=15,
    )

    # max / min along a dimension and over everything.
    g = torch.Generator().manual_seed(16)
    x32 = torch.randn(3, 4, generator=g, dtype=torch.float32)
    x32[0, 2] = NAN
    x32[1, 0] = INF
    x32[1, 3] = -INF
    x32[2, 1] = NAN
    x32[2, 3] = NAN
    for name, fn in [("max", torch.max), ("min", torch.min)]:
        gy = torch.randn(3, generator=g, dtype=torch.float32)
        x = x32.double().requires_grad_(True)
        y, idx = fn(x, dim=1)
        (y * gy.double()).sum().backward()
        save(
            f"nan_reduce_{name}_dim",
            f"torch.{name}",
            f"{name} along dim 1; a row holding NaN gives NaN at the first NaN",
            {"x": x32, "y": y, "indices": idx, "gy": gy, "grad.x": x.grad},
            ["x"],
            ["y", "indices"],
            ["grad.x"],
            {"dim": 1},
            seed=16,
        )
        x = x32.double().requires_grad_(True)
        y = fn(x)
        gy = torch.randn((), generator=g, dtype=torch.float32)
        (y * gy.double()).sum().backward()
        save(
            f"nan_reduce_{name}_all",
            f"torch.{name}",
            f"{name} over all elements: NaN when any element is NaN",
            {"x": x32, "y": y, "gy": gy, "grad.x": x.grad},
            ["x"],
            ["y"],
            ["grad.x"],
            seed=16,
        )


if __name__ == "__main__":
    main()

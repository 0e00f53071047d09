"""PyTorch reference for InstanceNorm with `track_running_stats=True`
(tests/golden_instancenorm.rs): TRAIN training-mode forwards update the running statistics,
then an evaluation forward normalises by them, with gradients. Run with PyTorch 2.15 (CPU)
inside this folder; the tensors are byte-for-byte reproducible (the metadata's key order is
not).

Same conventions as tests/golden/README.md, computed in float64 from the stored float32
values and rounded to float32: `x.train.<k>` (k = 0..TRAIN-1) the training inputs and
`y.train.<k>` their outputs; `running_mean.<k>`, `running_var.<k>` the buffers after
training step k; then the evaluation input `x`, its output `y`, the cotangent `gy`, and
`grad.x` (and `grad.weight`, `grad.bias` when affine) of `sum(y * gy)`.
"""
import json
import torch
from safetensors.torch import save_file

torch.manual_seed(11)
TRAIN = 3


def case(name, layer, shape, hyper):
    layer = layer.double()
    t = {}
    params = []
    if layer.affine:
        with torch.no_grad():
            layer.weight.copy_((torch.rand(shape[1]) + 0.5).float().double())
            layer.bias.copy_(torch.randn(shape[1]).float().double())
        for n, p in layer.named_parameters():
            t[n] = p.detach().float()
            params.append(n)
    layer.train()
    for k in range(TRAIN):
        x32 = torch.randn(*shape) * (1.0 + k) + 0.5 * k - 0.3
        with torch.no_grad():
            y = layer(x32.double())
        t[f"x.train.{k}"] = x32
        t[f"y.train.{k}"] = y.float()
        t[f"running_mean.{k}"] = layer.running_mean.float().clone()
        t[f"running_var.{k}"] = layer.running_var.float().clone()
    layer.eval()
    x32 = torch.randn(*shape) * 1.5 + 0.4
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*shape)
    (y * gy.double()).sum().backward()
    t.update({"x": x32, "y": y.detach().float(), "gy": gy, "grad.x": x.grad.float()})
    for n, p in layer.named_parameters():
        t["grad." + n] = p.grad.float()
    meta = {"case": name, "op": repr(layer), "torch_version": torch.__version__,
            "inputs": json.dumps(["x"] + [f"x.train.{k}" for k in range(TRAIN)]),
            "params": json.dumps(params),
            "outputs": json.dumps(["y"] + [f"{s}.{k}" for k in range(TRAIN)
                                           for s in ("y.train", "running_mean", "running_var")]),
            "cotangents": '{"y": "gy"}', "loss": "sum(y * gy)",
            "grads": json.dumps(["grad.x"] + ["grad." + p for p in params]),
            "hyperparameters": json.dumps(list(hyper) + ["train_steps"])}
    meta.update({k: json.dumps(v) for k, v in hyper.items()})
    meta["train_steps"] = json.dumps(TRAIN)
    save_file(t, f"{name}.safetensors", meta)


nn = torch.nn
case("layer_instancenorm1d_running", nn.InstanceNorm1d(3, track_running_stats=True),
     (2, 3, 7), {"eps": 1e-5, "momentum": 0.1})
case("layer_instancenorm2d_running_affine",
     nn.InstanceNorm2d(4, eps=1e-3, momentum=0.3, affine=True, track_running_stats=True),
     (3, 4, 3, 5), {"eps": 1e-3, "momentum": 0.3})
case("layer_instancenorm3d_running", nn.InstanceNorm3d(2, track_running_stats=True),
     (2, 2, 2, 3, 3), {"eps": 1e-5, "momentum": 0.1})

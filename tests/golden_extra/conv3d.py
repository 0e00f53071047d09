"""PyTorch reference for Conv3d, MaxPool3d and AvgPool3d (tests/golden_conv.rs,
tests/golden_pool3d.rs). Run with PyTorch 2.15 (CPU) inside this folder; the tensors are
byte-for-byte reproducible (the metadata's key order is not).

Same conventions as tests/golden/README.md: inputs (`x`) and parameters float32, `y`, the
cotangent `gy`, and `grad.<name>` of `sum(y * gy)`, computed in float64 from the stored
float32 values and rounded to float32; the layer's settings as JSON values in the metadata.
Inputs have a different size along each spatial axis, so that a mix-up of depth, height and
width shows. Max pooling inputs are distinct values, so that every window has one maximum.
"""
import json
import torch
from safetensors.torch import save_file

torch.manual_seed(11)
nn = torch.nn


def save(name, layer, inputs, params, y, gy, hyper, grads):
    meta = {"case": name, "op": repr(layer), "torch_version": torch.__version__,
            "inputs": json.dumps(list(inputs)), "params": json.dumps(list(params)),
            "outputs": '["y"]', "cotangents": '{"y": "gy"}', "loss": "sum(y * gy)",
            "grads": json.dumps([f"grad.{n}" for n in grads]),
            "hyperparameters": json.dumps(list(hyper))}
    meta.update({k: json.dumps(v) for k, v in hyper.items()})
    tensors = {k: v.detach().float().contiguous() for k, v in {**inputs, **params}.items()}
    tensors["y"] = y.detach().float()
    tensors["gy"] = gy
    for n, g in grads.items():
        tensors[f"grad.{n}"] = g.float()
    save_file(tensors, f"{name}.safetensors", meta)


def one_input(name, layer, x32, hyper):
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*y.shape)
    (y * gy.double()).sum().backward()
    save(name, layer, {"x": x32}, {}, y, gy, hyper, {"x": x.grad})


def distinct(shape):
    n = 1
    for d in shape:
        n *= d
    return (torch.randperm(n).float() / n * 4 - 2).reshape(shape)


def conv3d(name, layer, x32):
    hyper = {"in_channels": layer.in_channels, "out_channels": layer.out_channels,
             "kernel_size": layer.kernel_size[0], "stride": layer.stride[0],
             "padding": layer.padding[0], "dilation": layer.dilation[0],
             "bias": layer.bias is not None}
    layer = layer.double()
    # Parameters rounded to float32 first, so that the reference uses the stored values.
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(p.float().double())
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*y.shape)
    (y * gy.double()).sum().backward()
    params = {"weight": layer.weight}
    grads = {"x": x.grad, "weight": layer.weight.grad}
    if layer.bias is not None:
        params["bias"] = layer.bias
        grads["bias"] = layer.bias.grad
    save(name, layer, {"x": x32}, params, y, gy, hyper, grads)


conv3d("layer_conv3d", nn.Conv3d(3, 4, 3), torch.randn(2, 3, 5, 6, 7))
conv3d("layer_conv3d_strided", nn.Conv3d(2, 3, 3, stride=2, padding=1),
       torch.randn(2, 2, 5, 6, 7))
conv3d("layer_conv3d_dilated", nn.Conv3d(2, 3, 3, padding=1, dilation=2),
       torch.randn(2, 2, 5, 6, 7))
conv3d("layer_conv3d_no_bias_unbatched", nn.Conv3d(2, 3, 2, bias=False),
       torch.randn(2, 4, 5, 6))

one_input("layer_maxpool3d", nn.MaxPool3d(2), distinct((2, 2, 4, 6, 7)),
          {"kernel_size": 2, "stride": 2, "padding": 0})
one_input("layer_maxpool3d_padded", nn.MaxPool3d(3, stride=2, padding=1),
          distinct((2, 2, 5, 6, 7)), {"kernel_size": 3, "stride": 2, "padding": 1})
one_input("layer_avgpool3d", nn.AvgPool3d(2), torch.randn(2, 2, 4, 6, 7),
          {"kernel_size": 2, "stride": 2, "padding": 0})
one_input("layer_avgpool3d_padded_unbatched", nn.AvgPool3d(3, stride=2, padding=1),
          torch.randn(2, 5, 6, 7), {"kernel_size": 3, "stride": 2, "padding": 1})

"""PyTorch reference for Unflatten, AdaptiveMaxPool1d/2d, Bilinear, RReLU and ConvTranspose1d
(tests/golden_shape.rs, tests/golden_pool1d.rs, tests/golden_layers2.rs,
tests/golden_activations.rs, tests/golden_conv.rs). Run with PyTorch 2.15 (CPU) inside this folder; the tensors are
byte-for-byte reproducible (the metadata's key order is not).

Same conventions as tests/golden/README.md: inputs (`x`, `x2`) and parameters float32,
`y`, the cotangent `gy`, and `grad.<name>` of `sum(y * gy)`, computed in float64 from the
stored float32 values and rounded to float32; the layer's settings as JSON values in the
metadata.
Max pooling inputs are distinct values, so that every window has one maximum. RReLU is
random in training, so only its evaluation mode (the fixed slope (lower + upper) / 2) is here;
inputs stay 0.05 away from its kink at 0.
"""
import json
import torch
from safetensors.torch import save_file

torch.manual_seed(7)
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


def away_from_zero(shape):
    x = torch.randn(*shape) * 2
    for _ in range(100):
        near = x.abs() < 0.05
        if not near.any():
            return x
        x = torch.where(near, torch.randn(*shape) * 2, x)
    raise RuntimeError("could not keep clear of 0")


one_input("layer_unflatten", nn.Unflatten(1, (2, 5)), torch.randn(3, 10, 4),
          {"dim": 1, "unflattened_size": [2, 5]})
one_input("layer_unflatten_last", nn.Unflatten(-1, (3, 4)), torch.randn(2, 12),
          {"dim": -1, "unflattened_size": [3, 4]})

one_input("layer_adaptive_maxpool1d", nn.AdaptiveMaxPool1d(4), distinct((2, 3, 10)),
          {"output_size": 4})
one_input("layer_adaptive_maxpool1d_overlap", nn.AdaptiveMaxPool1d(3), distinct((3, 7)),
          {"output_size": 3})
one_input("layer_adaptive_maxpool1d_grow", nn.AdaptiveMaxPool1d(5), distinct((1, 2, 3)),
          {"output_size": 5})
one_input("layer_adaptive_maxpool2d", nn.AdaptiveMaxPool2d((3, 4)), distinct((2, 3, 7, 9)),
          {"output_size": [3, 4]})
one_input("layer_adaptive_maxpool2d_unbatched", nn.AdaptiveMaxPool2d(2), distinct((3, 5, 6)),
          {"output_size": [2, 2]})


def bilinear(name, in1, in2, out, lead, bias):
    layer = nn.Bilinear(in1, in2, out, bias=bias)
    x1_32 = torch.randn(*lead, in1)
    x2_32 = torch.randn(*lead, in2)
    layer = layer.double()
    x1 = x1_32.double().requires_grad_()
    x2 = x2_32.double().requires_grad_()
    # Parameters rounded to float32 first, so that the reference uses the stored values.
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(p.float().double())
    y = layer(x1, x2)
    gy = torch.randn(*y.shape)
    (y * gy.double()).sum().backward()
    params = {"weight": layer.weight}
    grads = {"x": x1.grad, "x2": x2.grad, "weight": layer.weight.grad}
    if bias:
        params["bias"] = layer.bias
        grads["bias"] = layer.bias.grad
    save(name, layer, {"x": x1_32, "x2": x2_32}, params, y, gy,
         {"in1_features": in1, "in2_features": in2, "out_features": out, "bias": bias}, grads)


bilinear("layer_bilinear", 3, 4, 5, (6,), True)
bilinear("layer_bilinear_no_bias", 4, 2, 3, (5,), False)
bilinear("layer_bilinear_leading", 3, 2, 4, (2, 3), True)

one_input("layer_rrelu_eval", nn.RReLU().eval(), away_from_zero((4, 7)),
          {"lower": 1.0 / 8, "upper": 1.0 / 3})
one_input("layer_rrelu_eval_bounds", nn.RReLU(0.1, 0.3).eval(), away_from_zero((2, 3, 5)),
          {"lower": 0.1, "upper": 0.3})


def conv_transpose1d(name, layer, x32, hyper):
    layer = layer.double()
    # Parameters rounded to float32 first, so that the reference uses the stored values.
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(p.float().double())
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*y.shape)
    (y * gy.double()).sum().backward()
    save(name, layer, {"x": x32}, {"weight": layer.weight, "bias": layer.bias}, y, gy, hyper,
         {"x": x.grad, "weight": layer.weight.grad, "bias": layer.bias.grad})


conv_transpose1d("layer_conv_transpose1d",
                 nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1),
                 torch.randn(2, 4, 5),
                 {"in_channels": 4, "out_channels": 3, "kernel_size": 3, "stride": 2,
                  "padding": 1, "output_padding": 1, "dilation": 1})
conv_transpose1d("layer_conv_transpose1d_dilated_unbatched",
                 nn.ConvTranspose1d(2, 3, 2, dilation=2), torch.randn(2, 6),
                 {"in_channels": 2, "out_channels": 3, "kernel_size": 2, "stride": 1,
                  "padding": 0, "output_padding": 0, "dilation": 2})

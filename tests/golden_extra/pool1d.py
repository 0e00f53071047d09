"""PyTorch reference for the 1-D pooling layers (tests/golden_pool1d.rs): MaxPool1d,
AvgPool1d and AdaptiveAvgPool1d, batched and unbatched, with stride and padding. Run with
PyTorch 2.15 (CPU) inside this folder; the tensors are byte-for-byte reproducible (the
metadata's key order is not).

Same conventions as tests/golden/README.md: `x` float32, `y`, the cotangent `gy` and
`grad.x` of `sum(y * gy)`, computed in float64 from the stored float32 input and rounded to
float32; the layer's settings as JSON values in the metadata. Max pooling inputs are
distinct values, so that every window has one maximum.
"""
import json
import torch
from safetensors.torch import save_file

torch.manual_seed(1)


def case(name, layer, shape, hyper):
    n = 1
    for d in shape:
        n *= d
    x32 = (torch.randperm(n).float() / n * 4 - 2).reshape(shape)
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*y.shape)
    (y * gy.double()).sum().backward()
    meta = {"case": name, "op": repr(layer), "torch_version": torch.__version__,
            "inputs": '["x"]', "params": "[]", "outputs": '["y"]',
            "cotangents": '{"y": "gy"}', "loss": "sum(y * gy)", "grads": '["grad.x"]',
            "hyperparameters": json.dumps(list(hyper))}
    meta.update({k: json.dumps(v) for k, v in hyper.items()})
    save_file({"x": x32, "y": y.detach().float(), "gy": gy, "grad.x": x.grad.float()},
              f"{name}.safetensors", meta)


nn = torch.nn
case("layer_maxpool1d", nn.MaxPool1d(3, stride=2, padding=1), (2, 3, 11),
     {"kernel_size": 3, "stride": 2, "padding": 1})
case("layer_maxpool1d_unbatched", nn.MaxPool1d(2), (4, 9),
     {"kernel_size": 2, "stride": 2, "padding": 0})
case("layer_avgpool1d", nn.AvgPool1d(3, stride=2, padding=1), (2, 3, 11),
     {"kernel_size": 3, "stride": 2, "padding": 1})
case("layer_adaptive_avgpool1d", nn.AdaptiveAvgPool1d(4), (2, 3, 10), {"output_size": 4})

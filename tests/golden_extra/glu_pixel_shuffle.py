"""PyTorch reference for GLU and pixel (un)shuffle (tests/golden_activations.rs,
tests/golden_shape.rs): `nn.GLU(dim)` over the last and a middle axis, `nn.PixelShuffle(r)`
batched and unbatched, `nn.PixelUnshuffle(r)`. Run with PyTorch 2.15 (CPU) inside this
folder; the tensors are byte-for-byte reproducible (the metadata's key order is not).

Same conventions as tests/golden/README.md: `x` float32, `y`, the cotangent `gy`, and
`grad.x` of `sum(y * gy)`, computed in float64 from the stored float32 values and rounded to
float32; the layer's argument in the metadata.
"""
import json
import torch
from safetensors.torch import save_file

torch.manual_seed(3)


def case(name, layer, shape, arg_name, arg):
    x32 = torch.randn(*shape) * 3
    x = x32.double().requires_grad_()
    y = layer(x)
    gy = torch.randn(*y.shape)
    (y * gy.double()).sum().backward()
    meta = {"case": name, "op": repr(layer), "torch_version": torch.__version__,
            "inputs": '["x"]', "outputs": '["y"]', "cotangents": '{"y": "gy"}',
            "loss": "sum(y * gy)", "grads": '["grad.x"]',
            "hyperparameters": json.dumps([arg_name]), arg_name: json.dumps(arg)}
    save_file({"x": x32, "y": y.detach().float(), "gy": gy, "grad.x": x.grad.float()},
              f"{name}.safetensors", meta)


case("layer_glu_last", torch.nn.GLU(dim=-1), (3, 4, 10), "dim", -1)
case("layer_glu_dim1", torch.nn.GLU(dim=1), (2, 6, 5), "dim", 1)
case("layer_pixel_shuffle", torch.nn.PixelShuffle(2), (2, 8, 3, 4), "upscale_factor", 2)
case("layer_pixel_shuffle_unbatched", torch.nn.PixelShuffle(3), (9, 2, 3), "upscale_factor", 3)
case("layer_pixel_unshuffle", torch.nn.PixelUnshuffle(2), (2, 3, 4, 6), "downscale_factor", 2)

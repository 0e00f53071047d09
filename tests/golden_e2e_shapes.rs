//! PyTorch reference values for the two composite models whose branches meet with differently
//! spelled computed dimensions (tests/golden/e2e_resnet_basic_block, e2e_unet_tiny): static
//! channel and spatial sizes, a run-time batch, no `realize` or annotation between layers.
//! Every output and gradient is checked.

mod common;
use common::Golden;
use shaped::nn::{BatchNorm2d, Conv2d, ConvTranspose2d, MaxPool2d, Module, ReLU};
use shaped::prelude::*;

fn rng() -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(0)
}

/// Copies the golden tensor `name` into `t`, checking its shape first.
fn load<S: Shape>(g: &Golden, name: &str, t: &mut Tensor<S>) {
    assert_eq!(g.shape(name), t.dims().as_slice(), "{name}");
    t.as_mut_slice().copy_from_slice(&g.f(name));
}

fn load_bn<const C: usize>(g: &Golden, prefix: &str, bn: &mut BatchNorm2d<C>) {
    load(g, &format!("{prefix}.weight"), &mut bn.weight);
    load(g, &format!("{prefix}.bias"), &mut bn.bias);
}

fn load_conv<const I: usize, const O: usize, const K: usize, const S: usize, const P: usize>(
    g: &Golden,
    prefix: &str,
    conv: &mut Conv2d<I, O, K, S, P>,
) {
    load(g, &format!("{prefix}.weight"), &mut conv.weight);
    if let Some(b) = conv.bias.as_mut() {
        load(g, &format!("{prefix}.bias"), b);
    }
}

#[test]
fn e2e_resnet_basic_block() {
    let g = Golden::load("e2e_resnet_basic_block");
    assert_eq!(g.hp("stride"), 2.0);
    // torchvision's BasicBlock with a projection shortcut, in training mode.
    let mut body = (
        Conv2d::<4, 8, 3, 2, 1>::new_no_bias(&mut rng()),
        BatchNorm2d::<8>::new(),
        ReLU,
        Conv2d::<8, 8, 3, 1, 1>::new_no_bias(&mut rng()),
        BatchNorm2d::<8>::new(),
    );
    let mut shortcut = (
        Conv2d::<4, 8, 1, 2, 0>::new_no_bias(&mut rng()),
        BatchNorm2d::<8>::new(),
    );
    load_conv(&g, "conv1", &mut body.0);
    load_bn(&g, "bn1", &mut body.1);
    load_conv(&g, "conv2", &mut body.3);
    load_bn(&g, "bn2", &mut body.4);
    load_conv(&g, "downsample.0", &mut shortcut.0);
    load_bn(&g, "downsample.1", &mut shortcut.1);

    let x = Tensor::<(usize, Const<4>, Const<8>, Const<8>)>::from_vec_with_shape(
        g.f("x"),
        (2, Const, Const, Const),
    )
    .unwrap();
    let xt = x.clone().trace();
    // 3x3/stride 2/pad 1 twice-padded body and 1x1/stride 2 shortcut: both 4x4, spelled
    // differently; the sum keeps the body's spelling.
    let y = (body.forward_train(xt.clone()) + shortcut.forward_train(xt)).relu();
    assert_eq!(y.dims().as_slice(), &[2, 8, 4, 4]);
    g.check_forward("y", y.as_slice());

    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("conv1.weight", grads.get_slice(&body.0.weight).unwrap());
    g.check_grad("bn1.weight", grads.get_slice(&body.1.weight).unwrap());
    g.check_grad("bn1.bias", grads.get_slice(&body.1.bias).unwrap());
    g.check_grad("conv2.weight", grads.get_slice(&body.3.weight).unwrap());
    g.check_grad("bn2.weight", grads.get_slice(&body.4.weight).unwrap());
    g.check_grad("bn2.bias", grads.get_slice(&body.4.bias).unwrap());
    g.check_grad(
        "downsample.0.weight",
        grads.get_slice(&shortcut.0.weight).unwrap(),
    );
    g.check_grad(
        "downsample.1.weight",
        grads.get_slice(&shortcut.1.weight).unwrap(),
    );
    g.check_grad(
        "downsample.1.bias",
        grads.get_slice(&shortcut.1.bias).unwrap(),
    );
}

#[test]
fn e2e_unet_tiny() {
    let g = Golden::load("e2e_unet_tiny");
    let mut enc1 = Conv2d::<1, 4, 3, 1, 1>::new(&mut rng());
    let mut enc2 = Conv2d::<4, 8, 3, 1, 1>::new(&mut rng());
    let mut up = ConvTranspose2d::<8, 4, 2, 2>::new(&mut rng());
    let mut head = Conv2d::<8, 3, 1>::new(&mut rng());
    load_conv(&g, "enc1", &mut enc1);
    load_conv(&g, "enc2", &mut enc2);
    load(&g, "up.weight", &mut up.weight);
    load(&g, "up.bias", up.bias.as_mut().unwrap());
    load_conv(&g, "head", &mut head);

    let x = Tensor::<(usize, Const<1>, Const<8>, Const<8>)>::from_vec_with_shape(
        g.f("x"),
        (2, Const, Const, Const),
    )
    .unwrap();
    let s1 = (enc1.clone(), ReLU).forward(x.clone().trace());
    let e2 = (MaxPool2d::<2>, enc2.clone(), ReLU).forward(s1.clone());
    // The skip: `ConvTransposeOut<ConvOut<PoolOut<ConvOut<..>>>>` meets `ConvOut<..>`, both 8.
    let u = up.forward(e2).concat::<1, _, _>(s1);
    let y = head.forward(u);
    assert_eq!(y.dims().as_slice(), &[2, 3, 8, 8]);
    g.check_forward("y", y.as_slice());

    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    let check_pair = |name: &str, w: &[f32], b: &[f32]| {
        g.check_grad(&format!("{name}.weight"), w);
        g.check_grad(&format!("{name}.bias"), b);
    };
    let bias = |b: &Option<Tensor<Rank1<4>>>| grads.get_slice(b.as_ref().unwrap()).unwrap();
    check_pair(
        "enc1",
        grads.get_slice(&enc1.weight).unwrap(),
        bias(&enc1.bias),
    );
    check_pair(
        "enc2",
        grads.get_slice(&enc2.weight).unwrap(),
        grads.get_slice(enc2.bias.as_ref().unwrap()).unwrap(),
    );
    check_pair("up", grads.get_slice(&up.weight).unwrap(), bias(&up.bias));
    check_pair(
        "head",
        grads.get_slice(&head.weight).unwrap(),
        grads.get_slice(head.bias.as_ref().unwrap()).unwrap(),
    );
}

//! Autograd: tracing tensors, `backward()`, reading gradients, using a tensor twice, clones
//! of traced tensors, detaching, and gradients of a layer's parameters.
//!
//! ```sh
//! cargo run --release --example autograd
//! ```
//!
//! The rules in one paragraph: `x.trace()` marks a tensor whose gradient you want. Every op
//! on a traced tensor records its backward step on the tape the result carries. Reduce to a
//! scalar (rank 0) and call `.backward()`: it exists only on a traced scalar, so forgetting the
//! reduction or the `trace()` is a compile error. The returned `Gradients` are read through
//! the original (untraced) tensors: `grads.get(&x)`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::nn::{Linear, Module};
use shaped::prelude::*;

fn main() {
    basics();
    using_a_tensor_twice();
    clones_of_traced_tensors();
    detach();
    layer_parameters();
}

fn basics() {
    println!("--- trace, backward, read the gradients ---");
    let x = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    let w = Tensor::<Rank1<3>>::from_array([0.5, -1.0, 2.0]);
    let c = Tensor::<Rank1<3>>::full(10.0); // a constant: never traced

    // loss = sum((x * w + c)^2). Only x and w are traced.
    let loss = ((x.clone().trace() * w.clone().trace()) + c.clone())
        .square()
        .sum();
    println!("loss = {loss}"); // a traced scalar prints `requires_grad=True`

    let grads = loss.backward();
    // d loss / d x = 2 (x w + c) w, d loss / d w = 2 (x w + c) x
    println!("d loss / d x = {}", grads.get(&x).expect("x was traced"));
    println!("d loss / d w = {}", grads.get(&w).expect("w was traced"));
    // Untraced tensors get no gradient.
    println!("d loss / d c = {:?}", grads.get(&c).map(|g| g.to_vec()));
}

fn using_a_tensor_twice() {
    println!("\n--- using a tensor twice ---");
    let x = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);

    // Trace once and clone the traced tensor: both factors are on the tape, so the
    // gradient of sum(x * x) is 2x.
    let t = x.clone().trace();
    let grads = (t.clone() * t).sum().backward();
    println!(
        "t = x.trace(); (t.clone() * t).sum() -> grad {}",
        grads.get(&x).unwrap()
    );

    // Gradients are keyed by the tensor's identity, not by the Rust value: `x`, its clones
    // and `x.trace()` are all the same tensor. So `x.trace() * x` is also x * x, and the
    // gradient is again 2x (as in PyTorch after `x.requires_grad_()`).
    let grads = (x.clone().trace() * x.clone()).sum().backward();
    println!(
        "x.trace() * x                     -> grad {}",
        grads.get(&x).unwrap()
    );

    // A different tensor that merely holds the same values is a constant: gradient x.
    let other = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    let grads = (x.clone().trace() * other).sum().backward();
    println!(
        "x.trace() * (a copy of the values) -> grad {}",
        grads.get(&x).unwrap()
    );
}

fn clones_of_traced_tensors() {
    println!("\n--- clones of traced tensors keep their history ---");
    let x = Tensor::<Rank1<2>, f64>::from_array([0.5, -1.0]);

    // An intermediate used in two branches: h = tanh(x); y = sum(h^2) + sum(h).
    let h = x.clone().trace().tanh();
    let y = h.clone().square().sum() + h.sum();
    let grads = y.backward();
    // dy/dx = (2 h + 1) (1 - h^2)
    let expected: Vec<f64> = x
        .as_slice()
        .iter()
        .map(|v| (2.0 * v.tanh() + 1.0) * (1.0 - v.tanh().powi(2)))
        .collect();
    println!(
        "two branches through h = tanh(x): grad {}",
        grads.get(&x).unwrap()
    );
    println!("by hand:                                {expected:?}");

    // A clone carries the whole history, so it can be backpropagated after the original
    // is gone (e.g. an RNN's final state kept for a loss on its own).
    let h = x.clone().trace().exp();
    let kept = h.clone();
    drop(h);
    let grads = kept.sum().backward();
    println!(
        "backward from a clone alone: grad of sum(exp(x)) = {}",
        grads.get(&x).unwrap()
    );

    // As in PyTorch, a graph is backpropagated once: a second `backward()` through the same
    // ops panics. Trace the inputs again (or `detach()` carried state) for a second pass.
}

fn detach() {
    println!("\n--- detach: stop the gradient ---");
    let x = Tensor::<Rank1<3>>::from_array([0.0, 0.5, 1.0]);
    let e = x.clone().trace().exp();
    // `detach()` drops the history: what is computed from the detached value is a constant.
    // y = sum(e + sin(stop_gradient(e))), so dy/dx = exp(x) alone.
    let y = (e.clone() + e.clone().detach().sin()).sum();
    let grads = y.backward();
    println!(
        "grad of sum(e + sin(e.detach())) = {}",
        grads.get(&x).unwrap()
    );
    println!("exp(x)                           = {}", x.exp());
    // A detached tensor keeps its identity (that is how a layer built from a detached
    // weight still reports gradients for that weight), so use it through an op, as here,
    // rather than directly beside its traced self: `e.clone() * e.detach()` is e * e.
}

fn layer_parameters() {
    println!("\n--- gradients of a layer's parameters ---");
    let mut rng = StdRng::seed_from_u64(0);
    let layer = Linear::<3, 2>::new(&mut rng);
    let x = Tensor::<Rank2<4, 3>>::ones();

    // A traced input makes the layer trace its parameters too.
    let loss = layer.forward(x.trace()).square().mean();
    let value = loss.as_slice()[0];
    let grads = loss.backward();
    println!(
        "loss = {value:.4}; gradients for {} tensors (input, weight, bias)",
        grads.len()
    );
    println!(
        "d loss / d weight (shape {:?}) = {}",
        layer.weight.dims(),
        grads.get(&layer.weight).expect("weights were traced")
    );
    let bias = layer.bias.as_ref().expect("Linear::new has a bias");
    println!("d loss / d bias = {}", grads.get(bias).unwrap());

    // An untraced input costs no autograd work at all: the output carries `NoTape`, and
    // `.backward()` on it would not compile.
    let y = layer.forward(Tensor::<Rank2<4, 3>>::ones());
    println!("untraced forward: {y}");
}

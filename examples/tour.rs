//! A short tour of tensors and autograd.
//!
//! Run with `cargo run --release --example tour`.
//!
//! More of each: `cargo run --release --example tensors` (creating, printing, broadcasting,
//! matmul, shape conversions) and `cargo run --release --example autograd` (tracing, reading
//! gradients, reusing and cloning traced tensors, detach).

use shaped::prelude::*;

fn main() {
    // Shapes are types: this is a 2x3 matrix of f32.
    let a = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let b = Tensor::<Rank1<3>>::from_array([10.0, 20.0, 30.0]);
    // Broadcasting follows PyTorch: (2, 3) + (3,) -> (2, 3).
    let c = a.clone() + b;
    println!("a + b = {c}");

    // matmul checks the inner dimensions at compile time: (2, 3) x (3, 2) -> (2, 2).
    let w = Tensor::<Rank2<3, 2>>::from_array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
    let y = a.clone().matmul(w.clone());
    println!("a @ w = {y}");

    // Autograd: trace the tensors you want gradients for, reduce to a scalar, backward.
    let loss = a.clone().trace().matmul(w.clone().trace()).relu().sum();
    println!("loss = {loss}");
    let grads = loss.backward();
    println!("d loss / d a = {}", grads.get(&a).expect("a was traced"));
    println!("d loss / d w = {}", grads.get(&w).expect("w was traced"));
}

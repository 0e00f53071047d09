//! # Shape bugs the compiler catches, and the messages you will see
//!
//! Every static dimension (`Const<N>`, what `Rank2<2, 3>` spells) is part of a tensor's type,
//! so the shape bugs that PyTorch reports at run time, or not at all, fail to build here.
//! This page shows the common ones: each example below is a doc test marked `compile_fail`
//! (with the error code it must fail with), followed by the first lines of the message
//! `cargo build` prints for it, and the fix, itself a doc test that must build and run.
//!
//! Reading the messages: the first line names the two dimensions that disagree
//! (`shaped::shape::Const<3>` is a static 3); a `note: required for ...` line further down
//! names the two whole shapes and the rule (`MatMulShape`, `BroadcastShapes`, `Module`) that
//! needed them to agree. The `help: the following other types implement ...` lines in
//! between list the library's impls and can be skipped.
//!
//! Dimensions known only at run time (`usize`, e.g. a batch size) are checked at run time
//! instead: the `try_` methods return an [`Error`](crate::error::Error) naming the sizes, and
//! the plain methods panic with the same message. Give them names (`Dyn<Batch>`, `Dyn<Seq>`,
//! section 10) and a batch axis mixed up with a sequence axis is a compile error too.
//!
//! The messages were recorded with the pinned toolchain (Rust 1.95); line numbers refer to
//! the example as a `src/main.rs` of its own.
//!
//! ## 1. Matrix product with mismatched inner dimensions
//!
//! ```compile_fail,E0277
//! use shaped::prelude::*;
//!
//! let x = Tensor::<Rank2<2, 3>>::ones();
//! let w = Tensor::<Rank2<4, 5>>::ones();
//! let y = x.matmul(w); // (2, 3) x (4, 5): 3 != 4
//! ```
//!
//! ```text
//! error[E0277]: dimension mismatch: `shaped::shape::Const<3>` must equal `shaped::shape::Const<4>`
//!   --> src/main.rs:6:15
//!    |
//!  6 |     let y = x.matmul(w); // (2, 3) x (4, 5): 3 != 4
//!    |               ^^^^^^ these dimensions differ
//!    |
//!    = help: the trait `DimUnify<shaped::shape::Const<4>>` is not implemented for `shaped::shape::Const<3>`
//!    = note: these must agree: matmul's inner and batch dimensions, concat's and stack's other axes, a layer's input size and the size in its type
//! ...
//!    = note: required for `(shaped::shape::Const<2>, shaped::shape::Const<3>)` to implement `MatMulShape<(shaped::shape::Const<4>, shaped::shape::Const<5>)>`
//! ```
//!
//! **Fix:** the columns of the left side must equal the rows of the right side.
//!
//! ```
//! use shaped::prelude::*;
//!
//! let x = Tensor::<Rank2<2, 3>>::ones();
//! let w = Tensor::<Rank2<3, 5>>::ones();
//! let y: Tensor<Rank2<2, 5>> = x.matmul(w);
//! ```
//!
//! ## 2. A `Linear` layer fed the wrong number of features
//!
//! ```compile_fail,E0277
//! use rand::SeedableRng;
//! use shaped::nn::{Linear, Module};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let layer = Linear::<784, 128>::new(&mut rng);
//! let x = Tensor::<(usize, Const<748>)>::zeros_with_shape((32, Const)); // typo: 748
//! let y = layer.forward(x);
//! ```
//!
//! ```text
//! error[E0277]: dimension mismatch: `shaped::shape::Const<748>` must equal `shaped::shape::Const<784>`
//!   --> src/main.rs:9:27
//!    |
//!  9 |     let y = layer.forward(x);
//!    |                   ------- ^ these dimensions differ
//!    |                   |
//!    |                   required by a bound introduced by this call
//!    |
//!    = help: the trait `DimUnify<shaped::shape::Const<784>>` is not implemented for `shaped::shape::Const<748>`
//! ...
//!    = note: required for `LinearLayer<shaped::shape::Const<784>, shaped::shape::Const<128>>` to implement `Module<shaped::tensor::Tensor<(usize, shaped::shape::Const<748>)>>`
//! ```
//!
//! The batch dimension is a run-time `usize` and never causes a build error; the feature
//! dimension is static, so its mismatch does.
//!
//! **Fix:** give the input as many features as the layer takes (`Linear<IN, OUT>` maps
//! `(.., IN)` to `(.., OUT)`).
//!
//! ```
//! use rand::SeedableRng;
//! use shaped::nn::{Linear, Module};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let layer = Linear::<784, 128>::new(&mut rng);
//! let x = Tensor::<(usize, Const<784>)>::zeros_with_shape((32, Const));
//! let y: Tensor<(usize, Const<128>)> = layer.forward(x);
//! ```
//!
//! ## 3. Elementwise shapes that do not broadcast
//!
//! ```compile_fail,E0277
//! use shaped::prelude::*;
//!
//! let a = Tensor::<Rank2<2, 3>>::ones();
//! let b = Tensor::<Rank2<2, 4>>::ones();
//! let c = a + b; // 3 vs 4: neither is 1
//! ```
//!
//! ```text
//! error[E0277]: dimensions `shaped::shape::Const<3>` and `shaped::shape::Const<4>` do not broadcast
//!    --> src/main.rs:6:15
//!     |
//!   6 |     let c = a + b; // 3 vs 4: neither is 1
//!     |               ^ neither is 1 and they differ
//!     |
//!     = help: the trait `DimBroadcast<shaped::shape::Const<4>>` is not implemented for `shaped::shape::Const<3>`
//!     = note: PyTorch broadcasting: aligned from the right, each pair of dimensions must be equal or one of them 1
//! ...
//!     = note: required for `(shaped::shape::Const<2>, shaped::shape::Const<3>)` to implement `BroadcastShapes<(shaped::shape::Const<2>, shaped::shape::Const<4>)>`
//! ```
//!
//! **Fix:** PyTorch's rule: align the shapes from the right; each pair of dimensions must be
//! equal or one of them 1. A per-row value is a `(2, 1)` column, a per-column value a `(3,)`
//! row.
//!
//! ```
//! use shaped::prelude::*;
//!
//! let a = Tensor::<Rank2<2, 3>>::ones();
//! let per_row = Tensor::<Rank2<2, 1>>::from_array([[1.0], [2.0]]);
//! let per_col = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
//! let c: Tensor<Rank2<2, 3>> = a + per_row + per_col;
//! ```
//!
//! ## 4. Reducing over an axis the tensor does not have
//!
//! ```compile_fail,E0277
//! use shaped::prelude::*;
//!
//! let x = Tensor::<Rank2<2, 3>>::ones();
//! let s = x.sum_dim::<2>(); // a rank-2 tensor has axes 0 and 1
//! ```
//!
//! ```text
//! error[E0277]: shape `(shaped::shape::Const<2>, shaped::shape::Const<3>)` has no axis 2
//!  --> src/main.rs:5:15
//!   |
//! 5 |     let s = x.sum_dim::<2>(); // a rank-2 tensor has axes 0 and 1
//!   |               ^^^^^^^ axis 2 is out of range for this shape
//!   |
//!   = help: the trait `HasAxis<2>` is not implemented for `(shaped::shape::Const<2>, shaped::shape::Const<3>)`
//!   = note: axes count from 0; a rank-R shape has axes 0..R
//! ```
//!
//! The same holds for every op that takes an axis: `mean_dim`, `max_dim`, `softmax`,
//! `log_softmax`, `argmax`, `transpose`, `squeeze`, `select`, `narrow`, `concat`, `stack`.
//! Axes count from 0 and there are no negative axes: PyTorch's `dim=-1` is the rank minus 1.
//!
//! **Fix:**
//!
//! ```
//! use shaped::prelude::*;
//!
//! let x = Tensor::<Rank2<2, 3>>::ones();
//! let s: Tensor<Rank1<2>> = x.sum_dim::<1>(); // the last axis, PyTorch's dim=-1
//! ```
//!
//! ## 5. `backward()` on a tensor that is not a scalar
//!
//! ```compile_fail,E0277
//! use shaped::prelude::*;
//!
//! let w = Tensor::<Rank2<2, 3>>::ones();
//! let y = w.clone().trace().relu();
//! let grads = y.backward(); // y is (2, 3), not a scalar
//! ```
//!
//! ```text
//! error[E0277]: backward() needs a scalar (rank-0) loss, but this tensor has shape `(shaped::shape::Const<2>, shaped::shape::Const<3>)`
//!    --> src/main.rs:6:19
//!     |
//!   6 |     let grads = y.backward(); // y is (2, 3), not a scalar
//!     |                   ^^^^^^^^ not a scalar
//!     |
//!     = help: the trait `ScalarShape` is not implemented for `(shaped::shape::Const<2>, shaped::shape::Const<3>)`
//!     = note: reduce the tensor first, e.g. with `.sum()` or `.mean()`
//! ```
//!
//! PyTorch raises "grad can be implicitly created only for scalar outputs" when this runs.
//! Calling `backward()` on a tensor that was never traced is a compile error too ("backward()
//! needs a traced tensor").
//!
//! **Fix:** reduce to a scalar first.
//!
//! ```
//! use shaped::prelude::*;
//!
//! let w = Tensor::<Rank2<2, 3>>::ones();
//! let grads = w.clone().trace().relu().sum().backward();
//! assert_eq!(grads.get(&w).unwrap().to_vec(), vec![1.0; 6]);
//! ```
//!
//! ## 6. MSE of an `(N, 1)` prediction against an `(N,)` target
//!
//! PyTorch broadcasts `(N, 1) - (N,)` to `(N, N)` and returns a wrong loss with only a
//! warning; a regression model then trains towards the mean. Here a loss takes a prediction
//! and a target of the same shape type.
//!
//! ```compile_fail,E0308
//! use shaped::nn::loss::mse_loss;
//! use shaped::prelude::*;
//!
//! let pred = Tensor::<(usize, Const<1>)>::zeros_with_shape((8, Const)); // a model's (N, 1) output
//! let target = Tensor::<(usize,)>::zeros_with_shape((8,)); // targets as a plain vector
//! let loss = mse_loss(pred, target);
//! ```
//!
//! ```text
//! error[E0308]: mismatched types
//!    --> src/main.rs:7:31
//!     |
//!   7 |     let loss = mse_loss(pred, target);
//!     |                --------       ^^^^^^ expected a tuple with 2 elements, found one with 1 element
//!     |                |
//!     |                arguments to this function are incorrect
//!     |
//!     = note: expected struct `shaped::tensor::Tensor<(usize, shaped::shape::Const<1>), _, _>`
//!                found struct `shaped::tensor::Tensor<(usize,), _, NoTape>`
//! ```
//!
//! **Fix:** give both the same shape: add the unit axis to the target (or remove it from the
//! prediction with `squeeze::<1>()`).
//!
//! ```
//! use shaped::nn::loss::mse_loss;
//! use shaped::prelude::*;
//!
//! let pred = Tensor::<(usize, Const<1>)>::zeros_with_shape((8, Const));
//! let target = Tensor::<(usize,)>::zeros_with_shape((8,));
//! let loss = mse_loss(pred, target.unsqueeze::<1>()); // (N,) -> (N, 1)
//! ```
//!
//! ## 7. Concatenating tensors whose other axes differ
//!
//! ```compile_fail,E0277
//! use shaped::prelude::*;
//!
//! let a = Tensor::<Rank2<2, 3>>::ones();
//! let b = Tensor::<Rank2<4, 5>>::ones();
//! let c = a.concat::<0, _, _>(b); // along axis 0, axis 1 must match: 3 vs 5
//! ```
//!
//! ```text
//! error[E0277]: dimension mismatch: `shaped::shape::Const<3>` must equal `shaped::shape::Const<5>`
//!    --> src/main.rs:6:33
//!     |
//!   6 |     let c = a.concat::<0, _, _>(b); // along axis 0, axis 1 must match: 3 vs 5
//!     |               ------            ^ these dimensions differ
//!     |               |
//!     |               required by a bound introduced by this call
//!     |
//!     = help: the trait `DimUnify<shaped::shape::Const<5>>` is not implemented for `shaped::shape::Const<3>`
//!     = note: these must agree: matmul's inner and batch dimensions, concat's and stack's other axes, a layer's input size and the size in its type
//! ...
//!     = note: required for `(shaped::shape::Const<2>, shaped::shape::Const<3>)` to implement `ConcatShape<(shaped::shape::Const<4>, shaped::shape::Const<5>), 0>`
//! ```
//!
//! **Fix:** every axis but the one you join along must match; the joined axis becomes the sum.
//!
//! ```
//! use shaped::prelude::*;
//!
//! let a = Tensor::<Rank2<2, 3>>::ones();
//! let b = Tensor::<Rank2<4, 3>>::ones();
//! let c: Tensor<Rank2<6, 3>> = a.concat::<0, _, _>(b).realize(); // Sum<2, 4> is a static 6
//! ```
//!
//! ## 8. A `Linear` layer after `Flatten` with the wrong input size
//!
//! The size `Flatten` produces after convolutions and poolings is computed from the types
//! (here `32 * 5 * 5`). Comparing a computed size with a `Linear`'s input size is a build-time
//! check, evaluated when the compiler generates code: `cargo build`, `cargo run` and
//! `cargo test` report it, `cargo check` (and so an editor's live checking) does not.
//!
//! ```compile_fail,E0080
//! use rand::SeedableRng;
//! use shaped::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let model = (
//!     Conv2d::<1, 16, 3>::new(&mut rng),  // 28x28 -> 26x26
//!     ReLU,
//!     MaxPool2d::<2>,                     // -> 13x13
//!     Conv2d::<16, 32, 3>::new(&mut rng), // -> 11x11
//!     ReLU,
//!     MaxPool2d::<2>,                     // -> 5x5
//!     Flatten,                            // 32 * 5 * 5 = 800 features
//!     Linear::<801, 10>::new(&mut rng),   // off by one
//! );
//! let y = model.forward(Tensor::<Rank4<4, 1, 28, 28>>::zeros());
//! ```
//!
//! ```text
//! error[E0080]: evaluation panicked: layer 7 (Linear<801, 10>) expects 801 input features, but its input (the previous layer's output) has 800
//!   --> /path/to/shaped/src/nn/module.rs
//!    |
//!    |     const SHAPE_CHECK: () = <Self as Module<X>>::SHAPE_MISMATCH.check();
//!    |                             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ evaluation of `<(shaped::nn::Conv2d<1, 16, 3>, ..., shaped::nn::LinearLayer<shaped::shape::Const<801>, shaped::shape::Const<10>>) as shaped::nn::Module<...>>::SHAPE_CHECK` failed inside this call
//! ...
//! note: the above error was encountered while instantiating `fn <(Conv2d<1, 16, 3>, ReLU, MaxPool2d<2>, Conv2d<16, 32, 3>, ReLU, MaxPool2d<2>, shaped::nn::Flatten, LinearLayer<shaped::shape::Const<801>, shaped::shape::Const<10>>) as Module<shaped::tensor::Tensor<(shaped::shape::Const<4>, shaped::shape::Const<1>, shaped::shape::Const<28>, shaped::shape::Const<28>)>>>::forward`
//!   --> src/main.rs:16:9
//!    |
//! 16 | let y = model.forward(Tensor::<Rank4<4, 1, 28, 28>>::zeros());
//!    |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//! ```
//!
//! The first line names the layer by its position in the model (`layer 7`, the tuple index,
//! as in the parameter names `7.weight`), its type and both sizes: the flattened input has
//! 800 features and a `Linear<801, _>` expects 801. Nested models give a path (`layer 3.0`),
//! a `#[derive(Module)]` struct its field (`layer head.0`); a layer called on its own says
//! `Linear<801, 10> expects ...`. The error itself is located at the check inside shaped (a
//! failing constant is reported where it is written); the `note: the above error was
//! encountered while instantiating` line is your line (see the last section).
//!
//! **Fix:** make the `Linear` take the size the message names.
//!
//! ```
//! use rand::SeedableRng;
//! use shaped::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let model = (
//!     Conv2d::<1, 16, 3>::new(&mut rng),
//!     ReLU,
//!     MaxPool2d::<2>,
//!     Conv2d::<16, 32, 3>::new(&mut rng),
//!     ReLU,
//!     MaxPool2d::<2>,
//!     Flatten,
//!     Linear::<800, 10>::new(&mut rng),
//! );
//! let y = model.forward(Tensor::<Rank4<4, 1, 28, 28>>::zeros());
//! assert_eq!(y.dims().as_slice(), &[4, 10]);
//! ```
//!
//! ## 9. Branches that meet: a ResNet shortcut, a U-Net skip, `Residual`
//!
//! Two computed dimensions of the same size are the same dimension: a padded 3x3 convolution
//! (`ConvOut<Const<16>, 3, 1, 1, 1>`) and a 1x1 one (`ConvOut<Const<16>, 1, 1, 0, 1>`) add, a
//! U-Net's upsampled map concatenates with its skip, and `Residual` accepts a padded conv
//! block. Sizes that differ fail the build with both sizes and the op, and the
//! `note: the above error was encountered while instantiating` line points at your line.
//! (The messages below were recorded from the twins in `tests/compile_fail/`, whose file and
//! line they show.)
//!
//! ```compile_fail,E0080
//! use rand::SeedableRng;
//! use shaped::nn::{Conv2d, Module};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let body = Conv2d::<64, 128, 3, 2, 1>::new(&mut rng); // 16x16 -> 8x8
//! let shortcut = Conv2d::<64, 128, 1, 1, 0>::new(&mut rng); // stride forgotten: 16x16
//! let x = Tensor::<(usize, Const<64>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
//! let y = body.forward(x.clone()) + shortcut.forward(x);
//! ```
//!
//! ```text
//! error[E0080]: evaluation panicked: add: shapes do not broadcast at axis 2 of the result: 8 vs 16
//!  --> /path/to/shaped/src/shape/check.rs
//! ...
//! note: the above error was encountered while instantiating `fn binary::<impl std::ops::Add<shaped::tensor::Tensor<(usize, shaped::shape::Const<128>, ConvOut<shaped::shape::Const<16>, 1, 1, 0, 1>, ConvOut<shaped::shape::Const<16>, 1, 1, 0, 1>)>> for shaped::tensor::Tensor<(usize, shaped::shape::Const<128>, ConvOut<shaped::shape::Const<16>, 3, 2, 1, 1>, ConvOut<shaped::shape::Const<16>, 3, 2, 1, 1>)>>::add`
//!   --> tests/compile_fail/resnet_projection_shortcut.rs:12:14
//!    |
//! 12 |     let _y = body.forward(x.clone()) + shortcut.forward(x);
//!    |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//! ```
//!
//! ```compile_fail,E0080
//! use rand::SeedableRng;
//! use shaped::nn::{Conv2d, ConvTranspose2d, MaxPool2d, Module, ReLU};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let enc1 = (Conv2d::<3, 16, 3, 1, 1>::new(&mut rng), ReLU);
//! let enc2 = (MaxPool2d::<2>, Conv2d::<16, 32, 3, 1, 1>::new(&mut rng), ReLU);
//! let up = ConvTranspose2d::<32, 16, 2, 2>::new(&mut rng);
//! let x = Tensor::<(usize, Const<3>, Const<25>, Const<25>)>::zeros_with_shape((2, Const, Const, Const));
//! let s1 = enc1.forward(x); // 25x25
//! let e2 = enc2.forward(s1.clone()); // pooled to 12x12
//! let u = up.forward(e2).concat::<1, _, _>(s1); // upsampled to 24x24, the skip is 25x25
//! ```
//!
//! ```text
//! error[E0080]: evaluation panicked: concat: the tensors must match off the joined axis, but one has size 24 where the other has 25
//!  --> /path/to/shaped/src/shape/check.rs
//! ...
//! note: the above error was encountered while instantiating `fn shape_ops::<impl shaped::tensor::Tensor<(usize, shaped::shape::Const<16>, ConvTransposeOut<ConvOut<PoolOut<ConvOut<shaped::shape::Const<25>, 3, 1, 1, 1>, 2, 2, 0>, 3, 1, 1, 1>, 2, 2, 0, 0, 1>, ConvTransposeOut<ConvOut<PoolOut<ConvOut<shaped::shape::Const<25>, 3, 1, 1, 1>, 2, 2, 0>, 3, 1, 1, 1>, 2, 2, 0, 0, 1>)>>::concat::<1, (usize, shaped::shape::Const<16>, ConvOut<shaped::shape::Const<25>, 3, 1, 1, 1>, ConvOut<shaped::shape::Const<25>, 3, 1, 1, 1>), NoTape>`
//!   --> tests/compile_fail/unet_skip_concat.rs:16:14
//!    |
//! 16 |     let _u = up.forward(e2).concat::<1, _, _>(s1);
//!    |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//! ```
//!
//! ```compile_fail,E0080
//! use rand::SeedableRng;
//! use shaped::nn::{Conv2d, Module, ReLU, Residual};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let block = Residual((Conv2d::<64, 64, 3>::new(&mut rng), ReLU)); // no padding: 16 -> 14
//! let x = Tensor::<(usize, Const<64>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
//! let y = block.forward(x);
//! ```
//!
//! ```text
//! error[E0080]: evaluation panicked: Residual: f(x) has size 14 where x has 16 (x + f(x) needs f(x) to keep x's shape), at dimension 2
//!  --> /path/to/shaped/src/shape/check.rs
//! ...
//! note: the above error was encountered while instantiating `fn <shaped::nn::Residual<(Conv2d<64, 64, 3>, ReLU)> as Module<shaped::tensor::Tensor<(usize, shaped::shape::Const<64>, shaped::shape::Const<16>, shaped::shape::Const<16>)>>>::forward`
//!   --> tests/compile_fail/residual_padded_conv.rs:11:14
//!    |
//! 11 |     let _y = block.forward(x);
//!    |              ^^^^^^^^^^^^^^^^
//! ```
//!
//! **Fix:** make the sizes agree (a stride on the shortcut, padding 1 on the 3x3
//! convolution, an input size that pools evenly). The correct versions need no annotation:
//!
//! ```
//! use rand::SeedableRng;
//! use shaped::nn::{Conv2d, ConvTranspose2d, MaxPool2d, Module, ReLU, Residual};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let x = Tensor::<(usize, Const<64>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
//! let body = Conv2d::<64, 128, 3, 2, 1>::new(&mut rng);
//! let shortcut = Conv2d::<64, 128, 1, 2, 0>::new(&mut rng);
//! let y = body.forward(x.clone()) + shortcut.forward(x.clone()); // both 8x8
//! assert_eq!(y.dims().as_slice(), &[2, 128, 8, 8]);
//! let block = Residual((Conv2d::<64, 64, 3, 1, 1>::new(&mut rng), ReLU));
//! let y: Tensor<(usize, Const<64>, Const<16>, Const<16>)> = block.forward(x);
//!
//! let enc1 = (Conv2d::<3, 16, 3, 1, 1>::new(&mut rng), ReLU);
//! let enc2 = (MaxPool2d::<2>, Conv2d::<16, 32, 3, 1, 1>::new(&mut rng), ReLU);
//! let up = ConvTranspose2d::<32, 16, 2, 2>::new(&mut rng);
//! let x = Tensor::<(usize, Const<3>, Const<24>, Const<24>)>::zeros_with_shape((2, Const, Const, Const));
//! let s1 = enc1.forward(x);
//! let e2 = enc2.forward(s1.clone());
//! let u = up.forward(e2).concat::<1, _, _>(s1); // (2, 32, 24, 24)
//! assert_eq!(u.dims().as_slice(), &[2, 32, 24, 24]);
//! ```
//!
//! ## 10. Run-time dimensions in the wrong place: named dimensions
//!
//! Batch sizes and sequence lengths are known only at run time. As plain `usize`s they never
//! differ in type, so `(T, B, I)` passed where `(B, T, I)` is expected builds. Named run-time
//! dimensions ([`Dyn<Batch>`](crate::shape::Dyn), `Dyn<Seq>`, your own with
//! [`dim_tag!`](crate::dim_tag)) keep their names in the type, and two names never meet:
//! here a batch-first LSTM gets a sequence-first input and a state whose batch is `Batch`.
//!
//! ```compile_fail,E0277
//! use rand::SeedableRng;
//! use shaped::nn::{LSTM, Module};
//! use shaped::prelude::*;
//! use shaped::shape::{Batch, Seq};
//!
//! let lstm = LSTM::<8, 16>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
//! let (b, t) = (Dyn::<Batch>::new(4), Dyn::<Seq>::new(10));
//! let x = Tensor::<(Dyn<Seq>, Dyn<Batch>, Const<8>)>::zeros_with_shape((t, b, Const));
//! let h0 = Tensor::<(Const<1>, Dyn<Batch>, Const<16>)>::zeros_with_shape((Const, b, Const));
//! let (y, state) = lstm.forward((x, (h0.clone(), h0)));
//! ```
//!
//! ```text
//! error[E0277]: dimension mismatch: `shaped::shape::Dyn<Batch>` must equal `shaped::shape::Dyn<Seq>`
//!   --> src/main.rs:10:23
//!    |
//! 10 | let (y, state) = lstm.forward((x, (h0.clone(), h0)));
//!    |                       ^^^^^^^ these dimensions differ
//!    |
//!    = help: the trait `DimUnify<shaped::shape::Dyn<Seq>>` is not implemented for `shaped::shape::Dyn<Batch>`
//! ...
//!    = note: required for `shaped::shape::Dyn<Batch>` to implement `DimEq<shaped::shape::Dyn<Seq>>`
//!    = note: required for `Recurrent<LstmKind, ..>` to implement `Module<(Tensor<(Dyn<Seq>, Dyn<Batch>, Const<8>)>, ..)>`
//! ```
//!
//! The same happens for a sum over the batch where the sequence was meant followed by a
//! broadcast (``dimensions `Dyn<Batch>` and `Dyn<Seq>` do not broadcast``), or attention
//! scores `(Batch, Tgt, Src)` transposed before they mix the values (`Dyn<Tgt>` must equal
//! `Dyn<Src>`, from `MatMulShape`). A named dimension against a static one is refused the
//! same way.
//!
//! **Fix:** put the dimensions in their places (here `x.transpose::<0, 1>()`); the names come
//! out of the layer as they went in. Where one dimension really becomes another, say so:
//! `rename` changes names (no check), `try_realize` turns a named size into a static one (or
//! another name) with a run-time check that returns `Err`.
//!
//! ```
//! use rand::SeedableRng;
//! use shaped::nn::{LSTM, Module};
//! use shaped::prelude::*;
//! use shaped::shape::{Batch, Seq};
//!
//! let lstm = LSTM::<8, 16>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
//! let (b, t) = (Dyn::<Batch>::new(4), Dyn::<Seq>::new(10));
//! let x = Tensor::<(Dyn<Seq>, Dyn<Batch>, Const<8>)>::zeros_with_shape((t, b, Const));
//! let h0 = Tensor::<(Const<1>, Dyn<Batch>, Const<16>)>::zeros_with_shape((Const, b, Const));
//! let (y, (h_n, _c_n)) = lstm.forward((x.transpose::<0, 1>(), (h0.clone(), h0)));
//! let y: Tensor<(Dyn<Batch>, Dyn<Seq>, Const<16>)> = y;
//! let as_static: Tensor<Rank3<4, 10, 16>> = y.clone().try_realize().unwrap();
//! let renamed: Tensor<(Dyn<Seq>, Dyn<Batch>, Const<16>)> = y.rename(); // names only
//! ```
//!
//! ## 11. A loss on a computed prediction
//!
//! A prediction whose shape is computed (a convolution's output, a `Flatten`) meets a target
//! spelled with `Const`s directly: a computed prediction dimension accepts any target
//! dimension of its size ([`LossTarget`](crate::shape::LossTarget)), so a conv decoder's
//! output is compared with the image it reconstructs without `realize`:
//!
//! ```
//! use rand::SeedableRng;
//! use shaped::nn::loss::mse_loss;
//! use shaped::nn::{Conv1d, Module};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let conv = Conv1d::<2, 1, 3, 1, 1>::new(&mut rng); // padding 1 keeps the width 8
//! let pred = conv.forward(Tensor::<(usize, Const<2>, Const<8>)>::zeros_with_shape((4, Const, Const)));
//! let target = Tensor::<(usize, Const<1>, Const<8>)>::zeros_with_shape((4, Const, Const));
//! let loss = mse_loss(pred, target);
//! ```
//!
//! When the sizes differ (no padding: the width is 6), the build fails naming the loss, both
//! sizes and the axis, and the note points at your call:
//!
//! ```compile_fail,E0080
//! use rand::SeedableRng;
//! use shaped::nn::loss::mse_loss;
//! use shaped::nn::{Conv1d, Module};
//! use shaped::prelude::*;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let conv = Conv1d::<2, 1, 3, 1, 0>::new(&mut rng);
//! let pred = conv.forward(Tensor::<(usize, Const<2>, Const<8>)>::zeros_with_shape((4, Const, Const)));
//! let target = Tensor::<(usize, Const<1>, Const<8>)>::zeros_with_shape((4, Const, Const));
//! let loss = mse_loss(pred, target);
//! ```
//!
//! ```text
//! error[E0080]: evaluation panicked: mse_loss: the prediction has size 6 where the target has 8, at dimension 2
//!   --> /path/to/shaped/src/shape/check.rs
//! ...
//! note: the above error was encountered while instantiating `fn mse_loss::<(usize, shaped::shape::Const<1>, ConvOut<shaped::shape::Const<8>, 3, 1, 0, 1>), (usize, shaped::shape::Const<1>, shaped::shape::Const<8>), f32, NoTape, NoTape>`
//!   --> src/main.rs:10:12
//!    |
//! 10 | let loss = mse_loss(pred, target);
//!    |            ^^^^^^^^^^^^^^^^^^^^^^
//! ```
//!
//! **Fix:** pad the convolution (or crop the target) so that the sizes agree.
//!
//! One thing needs a type written out: rustc infers a type from a trait bound only when
//! exactly one impl fits. A static or run-time prediction dimension accepts one target type
//! (its own), so a target built from context (`mse_loss(pred, Tensor::zeros())`,
//! `Tensor::from_array([..])`) is inferred as before. A computed prediction dimension accepts
//! several, so with a computed prediction the target's type must come from somewhere: a
//! typed target (data almost always is), `Tensor::zeros_with_shape(*pred.shape())`, or an
//! annotation; otherwise rustc says `error[E0283]: type annotations needed`. The same holds
//! the other way: a prediction built from context (`Tensor::zeros()`) or by an untyped
//! `pred.realize()` next to a static target needs its type written
//! (`pred.realize::<(usize, Const<8>)>()`). Class losses (`cross_entropy`, `nll_loss`) take
//! any class dimension.
//!
//! ```compile_fail,E0283
//! use shaped::nn::loss::mse_loss;
//! use shaped::prelude::*;
//! use shaped::shape::ConvOut;
//!
//! let pred = Tensor::<(usize, ConvOut<Const<8>, 3, 1, 1, 1>)>::zeros_with_shape((4, Default::default()));
//! let loss = mse_loss(pred, Tensor::zeros()); // which spelling of 8 is the target?
//! ```
//!
//! ```
//! use shaped::nn::loss::mse_loss;
//! use shaped::prelude::*;
//! use shaped::shape::ConvOut;
//!
//! let pred = Tensor::<(usize, ConvOut<Const<8>, 3, 1, 1, 1>)>::zeros_with_shape((4, Default::default()));
//! let loss = mse_loss(pred.clone(), Tensor::zeros_with_shape(*pred.shape())); // the prediction's own type
//! let loss = mse_loss(pred, Tensor::<(usize, Const<8>)>::zeros_with_shape((4, Const)));
//! ```
//!
//! ## 12. A computed size-1 dimension broadcast up
//!
//! PyTorch broadcasts a size-1 dimension up to any size. Here the result's type is chosen
//! from the two types (a computed dimension over a `Const`), and a computed dimension's type
//! fixes its size, so a computed dimension of size 1 cannot become 4:
//!
//! ```compile_fail,E0080
//! use shaped::prelude::*;
//!
//! let x = Tensor::<(usize, Const<4>, Const<4>)>::zeros_with_shape((2, Const, Const));
//! // (usize, PoolOut<Const<4>, 4, 4, 0>, PoolOut<..>): both pooled dimensions are 1.
//! let pooled = x.clone().unsqueeze::<1>().avg_pool2d::<4, 4, 0>().squeeze::<1>();
//! let y = pooled + x;
//! ```
//!
//! ```text
//! error[E0080]: evaluation panicked: add: shapes do not broadcast at axis 1 of the result: 1 vs 4 (the size-1 side is a computed dimension, whose type names the result, so it cannot grow: turn it into Const<1> with realize, or broadcast_to the other shape; when the other side is computed too, putting it on the left also works)
//!  --> /path/to/shaped/src/shape/check.rs
//! ...
//! note: the above error was encountered while instantiating `fn binary::<impl Add<shaped::tensor::Tensor<(usize, shaped::shape::Const<4>, shaped::shape::Const<4>)>> for shaped::tensor::Tensor<(usize, PoolOut<shaped::shape::Const<4>, 4, 4, 0>, PoolOut<shaped::shape::Const<4>, 4, 4, 0>)>>::add`
//!   --> src/main.rs:7:9
//!    |
//!  7 | let y = pooled + x;
//!    |         ^^^^^^^^^^
//! ```
//!
//! **Fix:** `realize` the size-1 side into `Const<1>`s (checked at build time); `Const<1>`
//! broadcasts against `Const<K>` (up to 1024; `broadcast_to` beyond) and `usize`.
//!
//! ```
//! use shaped::prelude::*;
//!
//! let x = Tensor::<(usize, Const<4>, Const<4>)>::ones_with_shape((2, Const, Const));
//! let pooled = x.clone().unsqueeze::<1>().avg_pool2d::<4, 4, 0>().squeeze::<1>();
//! let pooled: Tensor<(usize, Const<1>, Const<1>)> = pooled.realize();
//! let y = x * pooled; // (2, 4, 4)
//! assert_eq!(y.dims().as_slice(), &[2, 4, 4]);
//! ```
//!
//! Stable Rust cannot pick a type by value, and the one subset that could be accepted by type
//! (a computed side against `Const<K>`, `K > 1`, whose result is always `Const<K>`) would
//! need an impl per `K`, which would stop computed dimensions larger than the enumerated
//! range from broadcasting at all (see the README's shape section).
//!
//! ## Where these errors point, and what `cargo check` shows
//!
//! Errors between two `Const`s (sections 1 to 7, and `realize` between two static shapes)
//! and section 11's type mismatch are trait or type errors: `cargo check`, and so your editor, reports them at your line.
//!
//! Errors involving a computed dimension (sections 8, 9 and 12, a kernel larger than its input,
//! `reshape`'s element count, `broadcast_to`) are constants that the compiler evaluates only
//! when it generates code for the generic function that uses them (monomorphization), which
//! `cargo check` never does; `cargo build`, `cargo run` and `cargo test` report them. The
//! `error[E0080]` line names the op or layer and both sizes. Its own location is the constant
//! inside shaped (a panic in a constant is reported where the constant is written); the
//! location of *your* code is the `note: the above error was encountered while instantiating
//! fn ...` further down. rustc prints that note for the function whose code generation first
//! needed the failing constant, and only for that one (it does not print the chain of callers).
//! So shaped evaluates each check first in the function you call — `forward`,
//! `forward_train`, `try_forward` on a tuple, `Residual`, `+`/`add`/`try_add` and the other
//! elementwise ops, the comparisons (`lt`, `eq`, ...) and `where_`, `matmul`, `concat`,
//! `realize` — and the note names your file and line.
//! Each check is one constant per pair of types and op, shared by every function that uses
//! it, so a mismatch is reported once.
//!
//! What cannot point at your line:
//!
//! * A check reached only inside the library, e.g. a matmul that a library layer performs on
//!   a computed dimension you passed in: the note points at the library's call.
//! * The same failing check reached from two of your lines: rustc reports the first one it
//!   generated code for, once.
//! * A custom layer inside a model whose impl overrides `SHAPE_CHECK` rather than
//!   [`SHAPE_MISMATCH`](crate::nn::Module::SHAPE_MISMATCH): its check still runs, reached from
//!   the model's code, so the note points there (and the message has no position).
//!
//! **Positions in models.** A tuple model, `Residual`, `Frozen` and a `#[derive(Module)]`
//! struct evaluate *one* constant for all their layers, built from each layer's
//! [`SHAPE_MISMATCH`](crate::nn::Module::SHAPE_MISMATCH) (a value, not yet a failure), so
//! the message names the first layer that does not fit by its path: the tuple index or
//! field name, nested as in parameter names (`layer 7`, `layer 3.0`, `layer head.0`). The
//! layers then run through a hidden unchecked path, since a layer's own check (which is what
//! fires when you call the layer directly) is a different constant from the model's and
//! would report the mismatch a second time. Two checks keep their own message, without a
//! position: a kernel or window larger than its input (computed inside the `ConvOut` /
//! `PoolOut` type), and a convolution's computed input channels (the conv op checks the
//! same constant).
//!
//! **What `cargo check` sees.** Of the crate's compile-fail suite (`tests/compile_fail/`,
//! each case's `.stderr` is what the user sees), the cases whose error is `E0080` are
//! reported only by `cargo build`; the others (`E0277`, `E0308`, `E0271`) by `cargo check`
//! too: 49 of the 73 cases are reported by `cargo check`, 24 (all involving a computed
//! dimension or a size no type expresses) only by `cargo build`.

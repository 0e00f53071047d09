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
//! the plain methods panic with the same message.
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
//!    = help: the trait `DimEq<shaped::shape::Const<4>>` is not implemented for `shaped::shape::Const<3>`
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
//!    = help: the trait `DimEq<shaped::shape::Const<784>>` is not implemented for `shaped::shape::Const<748>`
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
//!     = help: the trait `BroadcastDim<shaped::shape::Const<4>>` is not implemented for `shaped::shape::Const<3>`
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
//!     = help: the trait `DimEq<shaped::shape::Const<5>>` is not implemented for `shaped::shape::Const<3>`
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
//! assertion, evaluated when the compiler generates code: `cargo build`, `cargo run` and
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
//! error[E0080]: evaluation panicked: dimension mismatch: a computed dimension of size 800 must equal 801
//!   --> /path/to/shaped/src/shape/broadcast.rs:82:17
//!    |
//! 82 |                 assert_dims_equal("dimension mismatch: a computed dimension of size", s, N)
//!    |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ evaluation of `<shaped::shape::Prod<shaped::shape::Const<32>, shaped::shape::Prod<shaped::shape::PoolOut<...>, ...>> as shaped::shape::DimEq<shaped::shape::Const<801>>>::dim_eq::{constant#0}` failed inside this call
//! ...
//! note: the above error was encountered while instantiating `fn <Prod<Const<32>, Prod<..., ...>> as DimEq<...>>::dim_eq`
//!    --> /path/to/shaped/src/nn/linear.rs:106:9
//! ```
//!
//! Unlike the errors above, this one points into the library, not at your line: the
//! compiler reports where the assertion sits. The first line has what you need, the two
//! sizes: the flattened input has 800 features and a `Linear<801, _>` expects 801.
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

//! Training loops: an optional [`Trainer`], and the pieces it is made of for loops you
//! write yourself.
//!
//! Nothing here is required: a training loop is a few lines of plain Rust. The
//! [`Trainer`] adds what every real run wants — a progress bar, validation, loss and
//! accuracy per epoch in a [`History`], early stopping, best-model checkpoints, callbacks,
//! and the curves as SVG and CSV — while keeping the parts a loop actually differs by in
//! your hands: the step closure sees your model and your batch type.
//!
//! The same training, first as a plain loop, then with the trainer:
//!
//! ```
//! use shaped::data::{DataLoader, Labels, TensorDataset};
//! use shaped::nn::loss::cross_entropy;
//! use shaped::nn::{Linear, Module, ReLU};
//! use shaped::optim::{Adam, Optimizer};
//! use shaped::prelude::*;
//! use shaped::train::{Step, Trainer};
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! // Two classes: is x0 > x1?
//! let x = Tensor::<(usize, Const<2>)>::randn_with_shape((200, Const), &mut rng);
//! let labels = x.as_slice().chunks(2).map(|r| (r[0] > r[1]) as usize).collect();
//! let (train, val) = TensorDataset::new(x, Labels::new(labels, 2)?)?.split(0.25, 0)?;
//! let mut model = (Linear::<2, 16>::new(&mut rng), ReLU, Linear::<16, 2>::new(&mut rng));
//! let mut opt = Adam::new(0.01);
//!
//! // A plain loop.
//! let mut loader = DataLoader::new(&train, 32)?.shuffle(0);
//! for _epoch in 0..10 {
//!     for batch in &mut loader {
//!         let (x, y) = batch?;
//!         let loss = cross_entropy(model.forward_train(x.trace_constant()), &y);
//!         opt.step(&mut model, &loss.backward());
//!     }
//! }
//!
//! // The trainer: the same steps, plus validation, accuracy, early stopping and curves.
//! let history = Trainer::new(&mut model, &mut opt)
//!     .epochs(10)
//!     .quiet(true) // the progress bar only ever shows on a terminal anyway
//!     .patience(3)
//!     .validate(DataLoader::new(&val, 64)?, |m, (x, y)| Step::cross_entropy(m.forward(x), &y))
//!     .fit(&mut loader, |m, (x, y)| Step::cross_entropy(m.forward_train(x.trace_constant()), &y))?;
//! assert!(history.last().unwrap().val_accuracy.unwrap() > 0.9);
//! println!("{}", history.to_csv());
//! # Ok::<(), shaped::error::Error>(())
//! ```
//!
//! A step reports a [`Step`]: the batch's mean loss (traced in training), its size, and
//! optionally correct predictions and custom metrics. [`Step::cross_entropy`] covers
//! classification; anything else is [`Step::new`] with your own loss:
//!
//! ```
//! use shaped::nn::loss::mse_loss;
//! use shaped::nn::{Linear, Module};
//! use shaped::optim::Sgd;
//! use shaped::prelude::*;
//! use shaped::train::{Step, Trainer};
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(1);
//! let x = Tensor::<Rank2<32, 3>>::randn(&mut rng);
//! let y = x.clone().matmul(Tensor::<Rank2<3, 1>>::from_array([[1.0], [-2.0], [0.5]]));
//! let mut model = Linear::<3, 1>::new(&mut rng);
//! let mut opt = Sgd::new(0.1);
//! let history = Trainer::new(&mut model, &mut opt)
//!     .epochs(50)
//!     .quiet(true)
//!     .fit(vec![(x, y)], |m, (x, y)| {
//!         let pred = m.forward_train(x.trace_constant());
//!         let mae = (pred.clone().detach() - y.clone()).abs().mean().as_slice()[0] as f64;
//!         Ok(Step::new(mse_loss(pred, y), 32).with_metric("mae", mae))
//!     })?;
//! assert!(history.last().unwrap().train_loss < 1e-3);
//! assert!(history.last().unwrap().metrics["train_mae"] < 0.05);
//! # Ok::<(), shaped::error::Error>(())
//! ```

pub(crate) mod device;
pub(crate) mod finite;
mod history;
mod plot;
mod progress;
mod source;
mod step;
mod trainer;

pub use device::TrainDevice;
pub use history::{EpochRecord, History, StopReason};
pub use plot::{Chart, Mark, Series, render_svg};
pub use source::{BatchSource, FromFn, Shuffled, ShuffledIter, from_fn, shuffled};
pub use step::{Meter, Step, correct};
pub use trainer::{BatchEnd, EpochEnd, Trainer};

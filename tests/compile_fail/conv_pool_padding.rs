// Pooling padding larger than half the window (PyTorch rejects it too: a window could be
// all padding). A build-time error from the pooling output size.
use shaped::nn::{MaxPool2d, Module};
use shaped::prelude::*;

fn main() {
    let _y = MaxPool2d::<2, 2, 2>.forward(Tensor::<Rank4<1, 1, 8, 8>>::zeros());
}

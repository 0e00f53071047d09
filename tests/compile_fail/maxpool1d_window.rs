// A 1-D pooling window longer than the (static) sequence: a build-time error from the
// pooling output length, naming both.
use shaped::nn::{MaxPool1d, Module};
use shaped::prelude::*;

fn main() {
    let _y = MaxPool1d::<5>.forward(Tensor::<Rank3<2, 4, 3>>::zeros());
}

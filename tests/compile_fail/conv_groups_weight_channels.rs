// A grouped convolution of 4 input channels in 2 groups needs a weight with 4 / 2 = 2 channels
// per group; this one has 3. Checked when the code is built, with the numbers.
use shaped::ops::conv::ConvArgs;
use shaped::ops::conv_grouped::Groups;
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank4<1, 4, 5, 5>>::zeros();
    let w = Tensor::<Rank4<6, 3, 3, 3>>::zeros();
    let _y = x.conv2d_grouped(w, None, ConvArgs::<1, 1>, Groups::<2>);
}

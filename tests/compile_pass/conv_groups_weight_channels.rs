// Twin of compile_fail/conv_groups_weight_channels.rs: 2 channels per group, 2 groups.
use shaped::ops::conv::ConvArgs;
use shaped::ops::conv_grouped::Groups;
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank4<1, 4, 5, 5>>::zeros();
    let w = Tensor::<Rank4<6, 2, 3, 3>>::zeros();
    let y = x.conv2d_grouped(w, None, ConvArgs::<1, 1>, Groups::<2>);
    assert_eq!(y.dims().as_slice(), &[1, 6, 5, 5]);
}

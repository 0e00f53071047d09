// 4 groups cannot split 6 output channels: PyTorch raises "out_channels must be divisible by
// groups"; here the layer's type is refused when the code is built, naming the three numbers.
use rand::SeedableRng;
use shaped::nn::GroupedConv2d;

fn main() {
    let _conv = GroupedConv2d::<4, 6, 3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
}

// 2 heads of 4 features each.
use rand::SeedableRng;
use shaped::nn::MultiheadAttention;

fn main() {
    let _mha = MultiheadAttention::<8, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
}

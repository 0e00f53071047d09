// 3 heads cannot split 8 features (a build-time check).
use rand::SeedableRng;
use shaped::nn::MultiheadAttention;

fn main() {
    let _mha = MultiheadAttention::<8, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
}

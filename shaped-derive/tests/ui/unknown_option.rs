use shaped::nn::Linear;

#[derive(shaped::Params)]
struct Net {
    #[param(skipp)]
    layer: Linear<2, 2>,
}

fn main() {}

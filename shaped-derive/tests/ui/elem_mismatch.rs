use shaped::nn::Linear;

#[derive(shaped::Params)]
#[param(elem = f64)]
struct Net {
    layer: Linear<2, 2>,
}

fn main() {}

use shaped::nn::Linear;

#[derive(shaped::Params)]
struct Net {
    #[param(skip, rename = "proj")]
    layer: Linear<2, 2>,
}

fn main() {}

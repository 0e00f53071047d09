use shaped::nn::{Linear, Params};

#[derive(shaped::Params)]
struct Net {
    layer: Linear<2, 2>,
    // A config value needs #[param(skip)].
    name: String,
}

fn names(net: &Net) -> Vec<String> {
    net.param_names()
}

fn main() {}

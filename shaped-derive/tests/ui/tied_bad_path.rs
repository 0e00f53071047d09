use shaped::nn::{Embedding, TiedLinear};

#[derive(shaped::Params)]
struct Lm {
    encoder: Embedding<10, 4>,
    #[param(tied(weight = "encoder..weight"))]
    decoder: TiedLinear<4, 10>,
}

fn main() {}

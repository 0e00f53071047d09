use shaped::nn::Linear;

#[derive(shaped::Module)]
enum Choice {
    Small(Linear<2, 2>),
    Large(Linear<2, 2>),
}

fn main() {}

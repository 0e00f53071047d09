#[derive(shaped::Params)]
union Either {
    a: f32,
    b: u32,
}

fn main() {}

//! Tensors: creating them, printing them, broadcasting, matrix products and shape conversions.
//!
//! ```sh
//! cargo run --release --example tensors
//! ```
//!
//! Every tensor's shape is part of its type: `Tensor<Rank2<2, 3>>` is a 2x3 matrix of `f32`.
//! A dimension is either static (`Const<N>`, checked by the compiler) or dynamic (`usize`,
//! checked at run time, e.g. a batch size read from data). The printed output follows
//! PyTorch's `print(tensor)`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::prelude::*;

fn main() -> Result<()> {
    creating()?;
    printing();
    broadcasting();
    matrix_products();
    shape_conversions()?;
    Ok(())
}

fn creating() -> Result<()> {
    println!("--- creating ---");
    // From nested arrays: the array type spells the shape, so this is a `Rank2<2, 3>`.
    let a = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    println!("from_array: {a}");

    // Constructors with the shape in the type.
    let z = Tensor::<Rank2<2, 2>>::zeros();
    let f = Tensor::<Rank1<3>>::full(7.0);
    let r = Tensor::<Rank1<5>>::arange(0.0, 0.5); // 5 values from 0 by 0.5
    let l = Tensor::<Rank1<3>>::linspace(-1.0, 1.0);
    let i = Tensor::<Rank2<3, 3>>::eye();
    println!("zeros: {z}\nfull: {f}\narange: {r}\nlinspace: {l}\neye: {i}");

    // Random tensors come from a generator you pass, so a seed reproduces them.
    let mut rng = StdRng::seed_from_u64(0);
    let n = Tensor::<Rank2<2, 3>>::randn(&mut rng);
    println!("randn (seed 0): {n}");

    // From a Vec: the length is checked at run time, so this returns a Result.
    let v = Tensor::<Rank2<2, 2>>::from_vec(vec![1.0, 2.0, 3.0, 4.0])?;
    let err = Tensor::<Rank2<2, 2>>::from_vec(vec![1.0; 5]).unwrap_err();
    println!("from_vec: {v}\nfrom_vec with 5 values: error: {err}");

    // A dynamic dimension: the batch size is a `usize` known only at run time.
    let batch = 4;
    let x = Tensor::<(usize, Const<3>)>::zeros_with_shape((batch, Const));
    println!("dynamic (usize, Const<3>) tensor of dims {:?}", x.dims());

    // f64 tensors, and conversion between element types.
    let d: Tensor<Rank1<2>, f64> = Tensor::from_array([0.25, 0.5]);
    let s: Tensor<Rank1<2>> = d.to_dtype();
    println!("f64: {d}  ->  f32: {s}");

    // Reading values back.
    println!(
        "a[1, 2] = {}, a as a slice = {:?}",
        a.at(&[1, 2])?,
        a.as_slice()
    );
    Ok(())
}

fn printing() {
    println!("\n--- printing ---");
    let t = Tensor::<Rank2<2, 3>>::from_array([[1.0, -2.5, 3.25], [0.5, 100.0, -7.0]]);
    println!("Display `{{}}`:\n{t}");
    println!("with a precision `{{:.1}}`:\n{t:.1}");
    println!("Debug `{{:?}}` adds the shape and dtype:\n{t:?}");
    // One format for the whole tensor: a wide range of magnitudes switches to scientific.
    let wide = Tensor::<Rank1<3>>::from_array([1e-5, 1.0, 250.0]);
    println!("wide range: {wide}");
    // Like PyTorch, more than 1000 elements are summarized.
    let big = Tensor::<Rank2<100, 100>>::ones();
    println!("a 100x100 tensor:\n{big}");
}

fn broadcasting() {
    println!("\n--- broadcasting (PyTorch rules, checked by the compiler) ---");
    let m = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let row = Tensor::<Rank1<3>>::from_array([10.0, 20.0, 30.0]);
    let col = Tensor::<Rank2<2, 1>>::from_array([[100.0], [200.0]]);
    // (2, 3) + (3,) -> (2, 3): the row is added to every row.
    let a: Tensor<Rank2<2, 3>> = m.clone() + row;
    println!("(2,3) + (3,) = {a}");
    // (2, 3) * (2, 1) -> (2, 3): each row is scaled by its own factor.
    let b = m.clone() * col.clone();
    println!("(2,3) * (2,1) = {b}");
    // (2, 1) - (1, 3) -> (2, 3): an outer difference.
    let c = col - Tensor::<Rank2<1, 3>>::from_array([[1.0, 2.0, 3.0]]);
    println!("(2,1) - (1,3) = {c}");
    // Scalars broadcast too, and references avoid moving the operands.
    let d = &m * &m;
    println!("m * 2 + 1 = {}", m * 2.0 + 1.0);
    println!("&m * &m = {d}");
    // `(2, 3) + (2, 4)` would not compile: see `shaped::compile_errors`.
}

fn matrix_products() {
    println!("\n--- matrix products ---");
    let a = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let w = Tensor::<Rank2<3, 2>>::from_array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
    // (2, 3) x (3, 2) -> (2, 2); the inner 3s must match, which the compiler checks.
    let y: Tensor<Rank2<2, 2>> = a.clone().matmul(w.clone());
    println!("(2,3) @ (3,2) = {y}");
    // Matrix-vector and dot products.
    let v = Tensor::<Rank1<3>>::from_array([1.0, 1.0, 1.0]);
    println!("(2,3) @ (3,) = {}", a.clone().matmul(v.clone()));
    println!("(3,) . (3,) = {}", v.clone().dot(v));
    // Batched: a stack of 4 matrices times one shared (3, 2) matrix.
    let batch = Tensor::<Rank3<4, 2, 3>>::ones();
    let yb: Tensor<Rank3<4, 2, 2>> = batch.matmul(w);
    println!("(4,2,3) @ (3,2) has dims {:?}", yb.dims());
    // The transpose of a matrix.
    println!("a.t() = {}", a.t());
}

fn shape_conversions() -> Result<()> {
    println!("\n--- shape conversions ---");
    // 0, 1, ..., 11 as a 2x6 matrix.
    let x: Tensor<Rank2<2, 6>> = Tensor::<Rank1<12>>::arange(0.0, 1.0).reshape();
    // reshape: same element count, checked when the code is built.
    let r: Tensor<Rank3<2, 3, 2>> = x.clone().reshape();
    println!("reshape (2,6) -> (2,3,2): {r}");
    // flatten keeps the first axis and merges the rest: (2, 3, 2) -> (2, 6).
    let f = r.clone().flatten();
    println!("flatten -> dims {:?}", f.dims());
    // unsqueeze / squeeze add and remove axes of size 1.
    let u: Tensor<Rank3<2, 1, 6>> = x.clone().unsqueeze::<1>();
    let s: Tensor<Rank2<2, 6>> = u.squeeze::<1>();
    println!("unsqueeze::<1> then squeeze::<1> -> dims {:?}", s.dims());
    // transpose and permute reorder axes.
    let p: Tensor<Rank3<2, 2, 3>> = r.permute::<0, 2, 1>();
    println!("permute::<0, 2, 1> (2,3,2) -> dims {:?}", p.dims());
    // Reductions remove the axis they reduce.
    let sums: Tensor<Rank1<2>> = x.clone().sum_dim::<1>();
    println!(
        "sum over axis 1: {sums}, argmax over axis 1: {:?}",
        x.argmax::<1>()
    );
    // concat along an axis: the other axes must match; the result is (2, 6 + 1).
    let ones = Tensor::<Rank2<2, 1>>::ones();
    let c: Tensor<Rank2<2, 7>> = x.clone().concat::<1, _, _>(ones).realize();
    println!("concat::<1> with a (2,1) column -> dims {:?}", c.dims());
    // stack adds a new axis.
    let st: Tensor<Rank3<3, 2, 6>> = Tensor::stack::<0, _>([x.clone(), x.clone(), x.clone()]);
    println!("stack of three (2,6) -> dims {:?}", st.dims());

    // Static <-> dynamic: `into_dyn` forgets the shape; `try_realize` checks it at run time,
    // e.g. for data whose shape comes from a file.
    let from_file = Tensor::<(usize, usize)>::from_vec_with_shape(vec![0.5; 12], (2, 6))?;
    let typed: Tensor<Rank2<2, 6>> = from_file.clone().try_realize()?;
    println!(
        "(usize, usize) [2, 6] realized as Rank2<2, 6>: {}",
        typed.sum()
    );
    let wrong = from_file.try_realize::<Rank2<3, 4>>().unwrap_err();
    println!("realized as Rank2<3, 4>: error: {wrong}");
    let dynamic = x.into_dyn();
    println!("into_dyn: a DynShape tensor of dims {:?}", dynamic.dims());
    Ok(())
}

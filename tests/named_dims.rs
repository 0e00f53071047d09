//! Named run-time dimensions (`Dyn<Tag>`): layers, attention, losses and the DataLoader keep
//! the names through their outputs, sizes are still checked at run time for the same name,
//! and `rename` / `try_realize` convert on purpose. The compile errors for mixed names are in
//! tests/compile_fail/named_*.rs.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::data::DataLoader;
use shaped::nn::loss::cross_entropy;
use shaped::nn::{
    AttentionOptions, GRU, LSTM, Linear, Module, MultiheadAttention, TransformerConfig,
    TransformerEncoderLayer,
};
use shaped::prelude::*;
use shaped::shape::{Batch, Seq, Src, Tgt};

shaped::dim_tag!(pub Classes);

/// A named iris batch: features and labels share the `Batch` dimension.
type IrisBatch = (Tensor<(Dyn<Batch>, Const<4>)>, Indices<(Dyn<Batch>,)>);

fn rng() -> StdRng {
    StdRng::seed_from_u64(0)
}

#[test]
fn rnns_keep_batch_and_sequence_names() {
    let (b, t) = (Dyn::<Batch>::new(3), Dyn::<Seq>::new(5));
    let x = Tensor::<(Dyn<Batch>, Dyn<Seq>, Const<4>)>::randn_with_shape((b, t, Const), &mut rng());
    let lstm = LSTM::<4, 6, 2>::new(&mut rng());
    let (y, (h, c)) = lstm.forward(x.clone());
    let y: Tensor<(Dyn<Batch>, Dyn<Seq>, Const<6>)> = y;
    let h: Tensor<(Const<2>, Dyn<Batch>, Const<6>)> = h;
    let c: Tensor<(Const<2>, Dyn<Batch>, Const<6>)> = c;
    assert_eq!(y.dims().as_slice(), &[3, 5, 6]);
    assert_eq!(h.dims().as_slice(), &[2, 3, 6]);
    // The same numbers as with anonymous sizes: a name is only a type.
    let (y_plain, _) = lstm.forward(x.clone().rename::<(usize, usize, Const<4>)>());
    assert_eq!(y.to_vec(), y_plain.to_vec());
    // Feeding the final state back keeps the names.
    let (y2, _) = lstm.forward((x.clone(), (h, c)));
    let _: Tensor<(Dyn<Batch>, Dyn<Seq>, Const<6>)> = y2;

    let gru = GRU::<4, 6>::new(&mut rng());
    let (y, h) = gru.forward(x);
    let _: Tensor<(Dyn<Batch>, Dyn<Seq>, Const<6>)> = y;
    let _: Tensor<(Const<1>, Dyn<Batch>, Const<6>)> = h;
}

#[test]
fn attention_and_transformer_keep_names() {
    let (b, l, s) = (Dyn::<Batch>::new(2), Dyn::<Tgt>::new(3), Dyn::<Src>::new(4));
    let q = Tensor::<(Dyn<Batch>, Dyn<Tgt>, Const<8>)>::randn_with_shape((b, l, Const), &mut rng());
    let kv =
        Tensor::<(Dyn<Batch>, Dyn<Src>, Const<8>)>::randn_with_shape((b, s, Const), &mut rng());
    let mha = MultiheadAttention::<8, 2>::new(&mut rng());
    let (y, w) = mha.forward_with(q.clone(), kv.clone(), kv, AttentionOptions::default());
    let y: Tensor<(Dyn<Batch>, Dyn<Tgt>, Const<8>)> = y;
    let w: Tensor<(Dyn<Batch>, Dyn<Tgt>, Dyn<Src>)> = w.unwrap();
    assert_eq!(y.dims().as_slice(), &[2, 3, 8]);
    assert_eq!(w.dims().as_slice(), &[2, 3, 4]);

    let layer = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng());
    let z: Tensor<(Dyn<Batch>, Dyn<Tgt>, Const<8>)> = layer.forward(q);
    assert_eq!(z.dims().as_slice(), &[2, 3, 8]);
}

#[test]
fn loss_and_gradients_through_named_batches() {
    let b = Dyn::<Batch>::new(4);
    let x = Tensor::<(Dyn<Batch>, Const<3>)>::randn_with_shape((b, Const), &mut rng());
    let labels = Indices::<(Dyn<Batch>,)>::from_vec_with_shape(vec![0, 1, 0, 1], (b,)).unwrap();
    let model = Linear::<3, 2>::new(&mut rng());
    let logits: Tensor<(Dyn<Batch>, Const<2>), f32, OwnedTape<f32>> =
        model.forward(x.clone().trace_constant());
    let loss = cross_entropy(logits, &labels);
    let grads = loss.backward();
    let named = grads.get(&model.weight).unwrap().to_vec();
    // The same loss with anonymous sizes gives the same gradients.
    let loss = cross_entropy(
        model.forward(x.rename::<(usize, Const<3>)>().trace_constant()),
        &labels.rename::<(usize,)>(),
    );
    assert_eq!(loss.backward().get(&model.weight).unwrap().to_vec(), named);
}

#[test]
fn same_name_different_sizes_is_a_run_time_error() {
    let a = Tensor::<(Dyn<Batch>, Const<2>)>::zeros_with_shape((Dyn::new(3), Const));
    let b = Tensor::<(Dyn<Batch>, Const<2>)>::zeros_with_shape((Dyn::new(4), Const));
    let err = a.clone().try_add(b).unwrap_err().to_string();
    assert!(err.contains("Batch"), "{err}");
    assert!(err.contains('3') && err.contains('4'), "{err}");
    // A size of 1 under the same name broadcasts, as PyTorch does.
    let one = Tensor::<(Dyn<Batch>, Const<2>)>::ones_with_shape((Dyn::new(1), Const));
    let sum: Tensor<(Dyn<Batch>, Const<2>)> = a + one;
    assert_eq!(sum.dims().as_slice(), &[3, 2]);
}

#[test]
fn rename_and_realize_convert_on_purpose() {
    let x = Tensor::<(Dyn<Batch>, Dyn<Seq>)>::ones_with_shape((Dyn::new(2), Dyn::new(3)));
    let t: Tensor<(Dyn<Seq>, Dyn<Batch>)> = x.clone().transpose::<0, 1>();
    let as_batch_first: Tensor<(Dyn<Batch>, Dyn<Seq>)> = t.rename();
    assert_eq!(as_batch_first.dims().as_slice(), &[3, 2]);
    let s: Tensor<Rank2<2, 3>> = x.clone().try_realize().unwrap();
    assert_eq!(s.dims().as_slice(), &[2, 3]);
    let err = x
        .clone()
        .try_realize::<Rank2<2, 4>>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("[2, 3]") && err.contains("[2, 4]"), "{err}");
    let back: Tensor<(Dyn<Batch>, Dyn<Seq>)> = s.try_realize().unwrap();
    assert_eq!(back.to_vec(), x.to_vec());
    // Your own tags.
    let c: Tensor<(Dyn<Batch>, Dyn<Classes>)> = x.rename();
    assert_eq!(format!("{:?}", c.shape()), "(Batch=2, Classes=3)");
}

#[test]
fn data_loader_names_batches_on_request() {
    let iris = shaped::data::iris().unwrap();
    let mut loader = DataLoader::new(&iris, 64).unwrap();
    let batches = loader.iter().named::<Batch>();
    assert_eq!(batches.len(), 3);
    let model = Linear::<4, 3>::new(&mut rng());
    let mut sizes = Vec::new();
    for batch in batches {
        let (x, y): IrisBatch = batch.unwrap();
        sizes.push(x.dims()[0]);
        let loss: Tensor<()> = cross_entropy(model.forward(x), &y);
        assert!(loss.to_vec()[0].is_finite());
    }
    assert_eq!(sizes, [64, 64, 22]);
    // The plain iterator is unchanged.
    let (x, _): (Tensor<(usize, Const<4>)>, Indices<(usize,)>) =
        loader.iter().next().unwrap().unwrap();
    assert_eq!(x.dims()[0], 64);
}

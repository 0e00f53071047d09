//! Load errors a user can act on: every mismatch listed with the file, truncation with the
//! byte counts, another recurrent architecture named, and dtype conversion only on request.

use shaped::nn::{GRU, LSTM, Linear, ReLU};
use shaped::rand::{SeedableRng, rngs::StdRng};
use shaped::serialize::{
    LoadMode, LoadOptions, load_safetensors, load_safetensors_with, save_safetensors,
    to_safetensors,
};
use std::path::PathBuf;

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "shaped_load_errors_{}_{name}.safetensors",
        std::process::id()
    ))
}

fn bits(layer: &Linear<3, 4>) -> Vec<u32> {
    layer.weight.to_vec().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn a_file_that_does_not_fit_lists_every_mismatch_with_its_path() {
    let path = temp_file("mismatch");
    // `0.weight` fits; `0.bias` has the wrong shape, `2.weight` the wrong dtype (F64),
    // `2.bias` is absent and `extra` is not in the model.
    use safetensors::{Dtype, tensor::TensorView};
    let f32s = |n: usize| vec![0u8; 4 * n];
    let (w0, b0, w2, extra) = (f32s(12), f32s(5), vec![0u8; 8 * 8], f32s(1));
    let file = safetensors::serialize(
        [
            (
                "0.weight",
                TensorView::new(Dtype::F32, vec![4, 3], &w0).unwrap(),
            ),
            ("0.bias", TensorView::new(Dtype::F32, vec![5], &b0).unwrap()),
            (
                "2.weight",
                TensorView::new(Dtype::F64, vec![2, 4], &w2).unwrap(),
            ),
            (
                "extra",
                TensorView::new(Dtype::F32, vec![1], &extra).unwrap(),
            ),
        ],
        None,
    )
    .unwrap();
    std::fs::write(&path, file).unwrap();

    let mut model = (
        Linear::<3, 4>::new(&mut StdRng::seed_from_u64(0)),
        ReLU,
        Linear::<4, 2>::new(&mut StdRng::seed_from_u64(1)),
    );
    let before = bits(&model.0);
    let err = load_safetensors(&mut model, &path).unwrap_err().to_string();
    let shown = path.display().to_string();
    assert!(
        err.starts_with(&format!(
            "{shown}: the file does not fit the model (4 mismatches): "
        )),
        "{err}"
    );
    for part in [
        "missing from the file: `2.bias`",
        "not in the model: `extra`",
        "`0.bias`: the file has shape [5], the model has shape [4]",
        "`2.weight`: the file holds F64 values, the model is f32",
    ] {
        assert!(err.contains(part), "{part:?} not in {err}");
    }
    assert!(!err.contains("`0.weight`"), "{err}");
    assert_eq!(bits(&model.0), before, "a refused load writes nothing");
    // Non-strict: names are reported, not refused, but shapes and dtypes still are.
    let err = load_safetensors_with(&mut model, &path, LoadMode::NonStrict)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("(2 mismatches)") && !err.contains("missing"),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_truncated_file_says_how_many_bytes_the_header_promises() {
    let path = temp_file("truncated");
    let model = Linear::<3, 4>::new(&mut StdRng::seed_from_u64(0));
    let bytes = to_safetensors(&model).unwrap();
    let mut fresh = Linear::<3, 4>::new(&mut StdRng::seed_from_u64(1));
    // Cut in the data.
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let err = load_safetensors(&mut fresh, &path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: truncated: header promises {} bytes, {} present",
            path.display(),
            bytes.len(),
            bytes.len() - 10
        )
    );
    // Cut in the header.
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    std::fs::write(&path, &bytes[..header_end - 3]).unwrap();
    let err = load_safetensors(&mut fresh, &path).unwrap_err().to_string();
    assert!(
        err.ends_with(&format!(
            "truncated: header promises at least {header_end} bytes, {} present",
            header_end - 3
        )),
        "{err}"
    );
    std::fs::write(&path, &bytes[..5]).unwrap();
    let err = load_safetensors(&mut fresh, &path).unwrap_err().to_string();
    assert!(err.contains("truncated: 5 bytes"), "{err}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn gru_weights_loaded_into_an_lstm_are_named_as_such() {
    let path = temp_file("gru");
    let gru = GRU::<4, 8>::new(&mut StdRng::seed_from_u64(0));
    save_safetensors(&gru, &path).unwrap();
    let mut lstm = LSTM::<4, 8>::new(&mut StdRng::seed_from_u64(1));
    let err = load_safetensors(&mut lstm, &path).unwrap_err().to_string();
    assert!(
        err.contains("`weight_ih_l0`: the file has shape [24, 4], the model has shape [32, 4]"),
        "{err}"
    );
    assert!(
        err.contains(
            "`weight_hh_l0` has 3 x 8 rows in the file and 4 x 8 in the model: the file looks like a GRU (3 gate blocks), the model is an LSTM (4 gate blocks)"
        ),
        "{err}"
    );
    // And the other way round.
    save_safetensors(&lstm, &path).unwrap();
    let mut gru = GRU::<4, 8>::new(&mut StdRng::seed_from_u64(2));
    let err = load_safetensors(&mut gru, &path).unwrap_err().to_string();
    assert!(
        err.contains(
            "the file looks like an LSTM (4 gate blocks), the model is a GRU (3 gate blocks)"
        ),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn an_f32_file_into_an_f64_model_converts_only_when_asked() {
    let path = temp_file("dtype");
    let narrow = Linear::<3, 2>::new(&mut StdRng::seed_from_u64(0));
    save_safetensors(&narrow, &path).unwrap();
    let mut wide = Linear::<3, 2, f64>::new(&mut StdRng::seed_from_u64(1));
    let before = wide.weight.to_vec();
    let err = load_safetensors(&mut wide, &path).unwrap_err().to_string();
    assert!(
        err.contains("`weight`: the file holds F32 values, the model is f64")
            && err.contains("`bias`: the file holds F32 values, the model is f64")
            && err.contains("LoadOptions::convert_dtype(true)"),
        "{err}"
    );
    assert_eq!(wide.weight.to_vec(), before);
    load_safetensors_with(&mut wide, &path, LoadOptions::new().convert_dtype(true)).unwrap();
    let expected: Vec<f64> = narrow.weight.to_vec().iter().map(|&v| v as f64).collect();
    assert_eq!(wide.weight.to_vec(), expected);
    std::fs::remove_file(&path).unwrap();
}

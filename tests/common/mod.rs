//! Shared helpers for the integration tests: reading PyTorch reference files.
#![allow(dead_code)]

use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;

/// One golden case: its tensors (as f64 or indices) and its metadata.
pub struct Golden {
    pub case: String,
    floats: HashMap<String, (Vec<usize>, Vec<f32>)>,
    ints: HashMap<String, (Vec<usize>, Vec<i64>)>,
    pub meta: HashMap<String, String>,
}

impl Golden {
    /// Reads `tests/golden/<case>.safetensors`, or `tests/golden_extra/`'s (the cases made
    /// by this repository's own scripts there) where the shared set has no such case.
    pub fn load(case: &str) -> Golden {
        let dir = env!("CARGO_MANIFEST_DIR");
        let shared = format!("{dir}/tests/golden/{case}.safetensors");
        let path = if std::path::Path::new(&shared).exists() {
            shared
        } else {
            format!("{dir}/tests/golden_extra/{case}.safetensors")
        };
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (_, meta) = SafeTensors::read_metadata(&bytes).expect("metadata");
        let meta = meta.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(&bytes).expect("safetensors");
        let mut floats = HashMap::new();
        let mut ints = HashMap::new();
        for (name, view) in st.tensors() {
            let shape = view.shape().to_vec();
            match view.dtype() {
                Dtype::F32 => {
                    let v = view
                        .data()
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                        .collect();
                    floats.insert(name, (shape, v));
                }
                Dtype::I64 => {
                    let v = view
                        .data()
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                        .collect();
                    ints.insert(name, (shape, v));
                }
                d => panic!("{case}: unexpected dtype {d:?} for {name}"),
            }
        }
        Golden {
            case: case.to_string(),
            floats,
            ints,
            meta,
        }
    }

    /// A float tensor's values.
    pub fn f(&self, name: &str) -> Vec<f32> {
        self.floats
            .get(name)
            .unwrap_or_else(|| panic!("{}: no tensor {name}", self.case))
            .1
            .clone()
    }
    /// A float tensor's values in f64.
    pub fn f64(&self, name: &str) -> Vec<f64> {
        self.f(name).into_iter().map(|v| v as f64).collect()
    }
    /// A tensor's shape.
    pub fn shape(&self, name: &str) -> Vec<usize> {
        self.floats
            .get(name)
            .map(|t| t.0.clone())
            .or_else(|| self.ints.get(name).map(|t| t.0.clone()))
            .unwrap_or_else(|| panic!("{}: no tensor {name}", self.case))
    }
    /// An int64 tensor as indices.
    pub fn idx(&self, name: &str) -> Vec<usize> {
        self.ints
            .get(name)
            .unwrap_or_else(|| panic!("{}: no tensor {name}", self.case))
            .1
            .iter()
            .map(|&v| v as usize)
            .collect()
    }
    /// An int64 tensor's values, signed (a `-1` stays `-1`).
    pub fn ints(&self, name: &str) -> Vec<i64> {
        self.ints
            .get(name)
            .unwrap_or_else(|| panic!("{}: no tensor {name}", self.case))
            .1
            .clone()
    }
    pub fn has(&self, name: &str) -> bool {
        self.floats.contains_key(name) || self.ints.contains_key(name)
    }
    /// A hyperparameter, JSON-decoded as f64.
    pub fn hp(&self, key: &str) -> f64 {
        self.meta
            .get(key)
            .unwrap_or_else(|| panic!("{}: no hyperparameter {key}", self.case))
            .parse()
            .unwrap()
    }
    pub fn hp_str(&self, key: &str) -> String {
        self.meta.get(key).cloned().unwrap_or_default()
    }
    /// The names of stored gradients.
    pub fn grads(&self) -> Vec<String> {
        let g = self.meta.get("grads").cloned().unwrap_or_default();
        g.trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Forward check at the README's tolerance (atol 1e-5, rtol 1e-4).
    pub fn check_forward(&self, name: &str, actual: &[f32]) {
        check_close(
            &format!("{}:{name}", self.case),
            actual,
            &self.f(name),
            1e-5,
            1e-4,
        );
    }
    /// Gradient check at the README's tolerance (atol 1e-4, rtol 1e-3).
    pub fn check_grad(&self, name: &str, actual: &[f32]) {
        check_close(
            &format!("{}:grad.{name}", self.case),
            actual,
            &self.f(&format!("grad.{name}")),
            1e-4,
            1e-3,
        );
    }
}

pub fn check_close(what: &str, actual: &[f32], expected: &[f32], atol: f32, rtol: f32) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: length {} vs expected {}",
        actual.len(),
        expected.len()
    );
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = (a - e).abs() <= atol + rtol * e.abs() || (a.is_infinite() && a == e);
        assert!(ok, "{what}[{i}]: got {a}, expected {e}");
    }
}

/// A pooling layer's golden case (`layer_*pool*`): runs `$layer` on the stored `x` traced,
/// checks `y` and its shape, then `grad.x` of `sum(y * gy)`, and the untraced forward.
/// Evaluates to the case.
#[allow(unused_macros)]
macro_rules! check_pool {
    ($case:literal, $layer:expr, $xshape:ty) => {{
        let g = Golden::load($case);
        let layer = $layer;
        assert!(Params::<f32>::param_names(&layer).is_empty());
        let x = Tensor::<$xshape>::from_vec(g.f("x")).unwrap();
        let y = layer.forward(x.clone().trace());
        assert_eq!(g.shape("y"), y.dims().as_slice());
        g.check_forward("y", y.as_slice());
        let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
        let grads = (y * gy).sum().backward();
        g.check_grad("x", grads.get_slice(&x).unwrap());
        g.check_forward("y", layer.forward(x).as_slice());
        g
    }};
}

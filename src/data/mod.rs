//! Getting data into typed batches: datasets, a seeded [`DataLoader`], standardization, CSV
//! and MNIST IDX files, and the small data sets bundled with the crate.
//!
//! ```
//! use shaped::data::{self, DataLoader, Standardizer};
//! use shaped::prelude::*;
//! let (train, val) = data::iris().unwrap().split(0.2, 0).unwrap();
//! let scaler = Standardizer::fit(&train).unwrap(); // fit on train only
//! let (train, val) = (scaler.transform(&train), scaler.transform(&val));
//! let mut loader = DataLoader::new(&train, 32).unwrap().shuffle(1);
//! for epoch in 0..2 {
//!     for batch in &mut loader {
//!         let (x, y): (Tensor<(usize, Const<4>)>, Indices<(usize,)>) = batch.unwrap();
//!         assert_eq!(x.dims()[0], y.numel()); // 32, 32, 32, then 24
//!     }
//! }
//! # let _ = val;
//! ```

mod bundled;
mod csv;
mod dataset;
mod gz;
mod gzip;
mod idx;
mod loader;
mod named;
mod sampler;
mod standardize;

pub use crate::nn::Standardizer;
pub use bundled::{
    DATA_DIR_ENV, data_dir, data_file, data_search_dirs, diabetes, diabetes_from, digits,
    digits_from, iris, iris_from, words, words_from,
};
pub use csv::{
    CsvOptions, CsvTable, Delimiter, load_csv, parse_csv, read_csv, save_csv, write_csv,
};
pub use dataset::{
    BatchDataset, Dataset, Labels, Subset, Targets, TensorDataset, Values, check_index, one_hot,
    random_split, split_indices,
};
pub use gz::{DEFAULT_MAX_DECOMPRESSED_BYTES, max_decompressed_bytes, set_max_decompressed_bytes};
pub use idx::{parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels};
pub use loader::{Batches, DataLoader};
pub use named::{NameBatch, NameLeading, NamedBatches};
pub use sampler::DistributedSampler;

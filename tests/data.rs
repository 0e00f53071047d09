//! Datasets, splits, standardization, the data loader, CSV, the bundled data sets and MNIST
//! IDX files.

use proptest::prelude::*;
use shaped::data::{
    self, BatchDataset, CsvOptions, DataLoader, Dataset, Labels, Standardizer, Subset,
    TensorDataset, Values,
};
use shaped::nn::{Module, Params, TensorKind};
use shaped::prelude::*;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Records the largest single allocation, to show that lying headers allocate nothing big.
#[path = "common/tracking_alloc.rs"]
mod tracking_alloc;
use tracking_alloc::LARGEST;

/// A fresh, empty directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shaped_test_data_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` rows of `[i, 10 i]` labelled `i % 3`.
fn toy(n: usize) -> TensorDataset<Const<2>> {
    let x = (0..n).flat_map(|i| [i as f32, 10.0 * i as f32]).collect();
    let x = Tensor::<(usize, Const<2>)>::from_vec_with_shape(x, (n, Const)).unwrap();
    TensorDataset::new(x, Labels::new((0..n).map(|i| i % 3).collect(), 3).unwrap()).unwrap()
}

// ---------------------------------------------------------------- datasets and splits

#[test]
fn tensor_dataset_items_and_batches() {
    let ds = toy(5);
    assert_eq!(ds.len(), 5);
    let (row, label) = ds.get(4).unwrap();
    assert_eq!((row.to_vec(), label), (vec![4.0, 40.0], 1));
    let err = ds.get(5).unwrap_err().to_string();
    assert!(
        err.contains("index 5") && err.contains("5 examples"),
        "{err}"
    );
    let (x, y) = ds.get_batch(&[3, 1]).unwrap();
    assert_eq!(x.dims().as_slice(), &[2, 2]);
    assert_eq!(x.to_vec(), vec![3.0, 30.0, 1.0, 10.0]);
    assert_eq!(y.as_slice(), &[0, 1]);
    assert!(ds.get_batch(&[0, 9]).is_err());
}

#[test]
fn tensor_dataset_rejects_mismatched_rows_and_labels() {
    let x = Tensor::<(usize, Const<2>)>::zeros_with_shape((3, Const));
    let err = TensorDataset::new(x, Labels::from_vec(vec![0, 1]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 feature rows but 2 targets"), "{err}");
    assert!(
        Labels::new(vec![0, 5], 3)
            .unwrap_err()
            .to_string()
            .contains("label 5 at position 1")
    );
}

#[test]
fn regression_targets_batch_as_tensors() {
    let x =
        Tensor::<(usize, Const<1>)>::from_vec_with_shape(vec![1.0, 2.0, 3.0], (3, Const)).unwrap();
    let y = Tensor::<(usize, Const<2>)>::from_vec_with_shape(
        vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        (3, Const),
    )
    .unwrap();
    let ds = TensorDataset::new(x, Values::new(y)).unwrap();
    let (_, t) = ds.get(1).unwrap();
    assert_eq!(t.to_vec(), vec![0.3, 0.4]);
    let (xb, yb) = ds.get_batch(&[2, 0]).unwrap();
    let _: &Tensor<(usize, Const<1>)> = &xb;
    let _: &Tensor<(usize, Const<2>)> = &yb;
    assert_eq!(
        (xb.to_vec(), yb.to_vec()),
        (vec![3.0, 1.0], vec![0.5, 0.6, 0.1, 0.2])
    );
    let sub = ds.subset(&[2]).unwrap();
    assert_eq!(sub.targets().tensor().to_vec(), vec![0.5, 0.6]);
}

#[test]
fn split_is_seeded_disjoint_and_complete() {
    let ds = toy(100);
    let (train, val) = ds.split(0.2, 11).unwrap();
    assert_eq!((train.len(), val.len()), (80, 20));
    let key = |d: &TensorDataset<Const<2>>| -> BTreeSet<u32> {
        d.features()
            .as_slice()
            .chunks(2)
            .map(|r| r[0] as u32)
            .collect()
    };
    let (a, b) = (key(&train), key(&val));
    assert!(a.is_disjoint(&b));
    assert_eq!(a.len() + b.len(), 100);
    // Labels travel with their rows.
    for i in 0..val.len() {
        let (row, label) = val.get(i).unwrap();
        assert_eq!(row.to_vec()[0] as usize % 3, label);
    }
    let (_, again) = ds.split(0.2, 11).unwrap();
    assert_eq!(key(&again), b, "same seed, same split");
    let (_, other) = ds.split(0.2, 12).unwrap();
    assert_ne!(key(&other), b, "another seed, another split");
    for bad in [-0.1, 1.5, f64::NAN] {
        assert!(ds.split(bad, 0).is_err());
    }
    assert_eq!(ds.split(0.0, 0).unwrap().1.len(), 0);
    assert_eq!(ds.split(1.0, 0).unwrap().0.len(), 0);
}

#[test]
fn random_split_gives_subsets_of_any_dataset() {
    let ds = toy(10);
    let (train, val) = data::random_split(&ds, 0.3, 5).unwrap();
    assert_eq!((train.len(), val.len()), (7, 3));
    let (x, _) = val.get_batch(&[0, 1, 2]).unwrap();
    let firsts: Vec<usize> = x.to_vec().chunks(2).map(|r| r[0] as usize).collect();
    assert_eq!(firsts, val.indices());
    assert!(Subset::new(&ds, vec![10]).is_err());
    assert!(val.get(3).is_err());
}

// ---------------------------------------------------------------- standardization

#[test]
fn standardizer_fits_on_train_and_applies_to_validation() {
    let iris = data::iris().unwrap();
    let (train, val) = iris.split(0.25, 3).unwrap();
    let s = Standardizer::fit(&train).unwrap();
    let t = s.transform(&train);
    for j in 0..4 {
        let col: Vec<f64> = (0..t.len())
            .map(|i| t.features().at(&[i, j]).unwrap() as f64)
            .collect();
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "column {j}: mean {mean}, var {var}"
        );
    }
    // Validation uses the training statistics, not its own.
    let v = s.transform(&val);
    for i in 0..val.len() {
        for j in 0..4 {
            let raw = val.features().at(&[i, j]).unwrap();
            let expected = (raw - s.mean.as_slice()[j]) / s.std.as_slice()[j];
            assert_eq!(v.features().at(&[i, j]).unwrap(), expected);
        }
    }
    assert_eq!(v.targets(), val.targets());
    // The inverse maps back (up to rounding).
    let back = s.inverse_tensor(v.features()).unwrap();
    for (a, b) in back.as_slice().iter().zip(val.features().as_slice()) {
        assert!((a - b).abs() < 1e-5);
    }
}

#[test]
fn standardizer_handles_constant_columns_and_empty_input() {
    let x = Tensor::<(usize, Const<2>)>::from_vec_with_shape(vec![1.0, 7.0, 3.0, 7.0], (2, Const))
        .unwrap();
    let s = Standardizer::fit_tensor(&x).unwrap();
    assert_eq!(s.std.to_vec(), vec![1.0, 1.0]);
    assert_eq!(s.transform_tensor(&x).to_vec(), vec![-1.0, 0.0, 1.0, 0.0]);
    let empty = Tensor::<(usize, Const<2>)>::zeros_with_shape((0, Const));
    assert!(Standardizer::fit_tensor(&empty).is_err());
}

#[test]
fn standardizer_is_a_layer_with_named_buffers() {
    let digits = data::digits().unwrap();
    let s = Standardizer::fit(&digits).unwrap();
    let mut kinds = Vec::new();
    s.visit("scaler.", &mut |p| {
        kinds.push((p.name.to_string(), p.dims.to_vec(), p.kind))
    });
    assert_eq!(
        kinds,
        [
            ("scaler.mean".to_string(), vec![64], TensorKind::Buffer),
            ("scaler.std".to_string(), vec![64], TensorKind::Buffer)
        ]
    );
    assert_eq!(s.num_params(), 0, "buffers are not trained");
    // Forward (also when traced) equals transform, bit for bit.
    let x = digits.features().clone();
    assert_eq!(
        s.forward(x.clone()).to_vec(),
        s.transform_tensor(&x).to_vec()
    );
    assert_eq!(
        s.forward(x.clone().trace()).to_vec(),
        s.transform_tensor(&x).to_vec()
    );
    // A dynamic-width standardizer checks the width at run time.
    let dynamic = Standardizer::<usize>::identity(3);
    let wrong = Tensor::<(usize, usize)>::zeros_with_shape((2, 4));
    assert!(
        dynamic
            .try_forward(wrong)
            .unwrap_err()
            .to_string()
            .contains("4 features")
    );
}

// ---------------------------------------------------------------- data loader

fn batch_firsts(x: &Tensor<(usize, Const<2>)>) -> Vec<usize> {
    x.as_slice().chunks(2).map(|r| r[0] as usize).collect()
}

#[test]
fn loader_batches_in_order_with_a_short_last_batch() {
    let ds = toy(10);
    let mut loader = DataLoader::new(&ds, 4).unwrap();
    assert_eq!(loader.len(), 3);
    type Batch = (Tensor<(usize, Const<2>)>, Indices<(usize,)>);
    let batches: Vec<Batch> = loader.iter().map(|b| b.unwrap()).collect();
    assert_eq!(
        batches.iter().map(|(x, _)| x.dims()[0]).collect::<Vec<_>>(),
        [4, 4, 2]
    );
    assert_eq!(batch_firsts(&batches[2].0), [8, 9]);
    assert_eq!(batches[2].1.as_slice(), &[2, 0]);
    let dropped = DataLoader::new(&ds, 4).unwrap().drop_last(true);
    assert_eq!(dropped.len(), 2);
    assert_eq!(dropped.iter_epoch(0).count(), 2);
    assert!(DataLoader::new(&ds, 0).is_err());
    // A batch larger than the dataset is one short batch, or none with drop_last.
    assert_eq!(DataLoader::new(&ds, 64).unwrap().iter_epoch(0).count(), 1);
    assert!(DataLoader::new(&ds, 64).unwrap().drop_last(true).is_empty());
}

#[test]
fn loader_shuffles_reproducibly_with_a_new_order_each_epoch() {
    let ds = toy(50);
    let mut loader = DataLoader::new(&ds, 8).unwrap().shuffle(99);
    let mut epochs = Vec::new();
    for _ in 0..3 {
        let mut seen = Vec::new();
        for batch in &mut loader {
            let (x, y) = batch.unwrap();
            let firsts = batch_firsts(&x);
            assert!(
                firsts.iter().zip(y.as_slice()).all(|(i, l)| i % 3 == *l),
                "labels follow rows"
            );
            seen.extend(firsts);
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..50).collect::<Vec<_>>(),
            "each example exactly once per epoch"
        );
        epochs.push(seen);
    }
    assert_ne!(epochs[0], epochs[1]);
    assert_ne!(epochs[1], epochs[2]);
    assert_eq!(loader.epoch(), 3);
    // A new loader with the same seed replays the same epochs.
    let mut replay = DataLoader::new(&ds, 8).unwrap().shuffle(99);
    for expected in &epochs {
        let got: Vec<usize> = replay
            .iter()
            .flat_map(|b| batch_firsts(&b.unwrap().0))
            .collect();
        assert_eq!(&got, expected);
    }
    // Resuming at an epoch gives that epoch's order.
    let mut resumed = DataLoader::new(&ds, 8).unwrap().shuffle(99);
    resumed.set_epoch(2);
    assert_eq!(
        resumed
            .iter()
            .flat_map(|b| batch_firsts(&b.unwrap().0))
            .collect::<Vec<_>>(),
        epochs[2]
    );
    // Another seed, another order.
    assert_ne!(
        DataLoader::new(&ds, 8).unwrap().shuffle(100).order(0),
        epochs[0]
    );
}

#[test]
fn loader_skips_batches_without_gathering_them() {
    let ds = toy(23);
    let loader = DataLoader::new(&ds, 5).unwrap().shuffle(1);
    let all: Vec<Vec<usize>> = loader
        .iter_epoch(4)
        .map(|b| batch_firsts(&b.unwrap().0))
        .collect();
    let skipped: Vec<Vec<usize>> = loader
        .iter_epoch(4)
        .skip(3)
        .map(|b| batch_firsts(&b.unwrap().0))
        .collect();
    assert_eq!(skipped, all[3..]);
    let mut it = loader.iter_epoch(4);
    assert_eq!(it.len(), 5);
    it.next();
    assert_eq!(it.len(), 4);
    assert_eq!(it.remaining_indices().len(), 18);
    assert!(loader.iter_epoch(4).nth(5).is_none());
}

#[test]
fn loader_works_over_subsets_and_trait_objects() {
    let ds = toy(12);
    let (train, _) = data::random_split(&ds, 0.5, 0).unwrap();
    let n: usize = DataLoader::new(&train, 4)
        .unwrap()
        .iter_epoch(0)
        .map(|b| b.unwrap().1.numel())
        .sum();
    assert_eq!(n, 6);
    type Batch = (Tensor<(usize, Const<2>)>, Indices<(usize,)>);
    let dynamic: &dyn BatchDataset<Item = (Tensor<(Const<2>,)>, usize), Batch = Batch> = &ds;
    assert_eq!(DataLoader::new(dynamic, 5).unwrap().len(), 3);
}

#[test]
fn one_hot_rejects_out_of_range_labels() {
    let y = Indices::<(usize,)>::from_vec_with_shape(vec![0, 3], (2,)).unwrap();
    assert!(data::one_hot::<3, f32>(&y).is_err());
    assert_eq!(
        data::one_hot::<4, f64>(&y).unwrap().to_vec(),
        vec![1., 0., 0., 0., 0., 0., 0., 1.]
    );
}

// ---------------------------------------------------------------- CSV

#[test]
fn csv_round_trips_exactly_with_options() {
    let dir = temp_dir("csv_round_trip");
    let values: Vec<f32> = vec![
        0.1,
        -2.5,
        1e-7,
        3.4028235e38,
        -0.0,
        123456.79,
        1.0 / 3.0,
        7.0,
        f32::MIN_POSITIVE,
    ];
    let t = Tensor::<(usize, Const<3>)>::from_vec_with_shape(values.clone(), (3, Const)).unwrap();
    for (file, opts) in [
        ("plain.csv", CsvOptions::new()),
        ("semi.csv", CsvOptions::new().delimiter(';').header(true)),
        ("tabs.tsv", CsvOptions::new().delimiter('\t').header(true)),
        ("spaces.txt", CsvOptions::new().whitespace()),
        ("packed.csv.gz", CsvOptions::new().header(true)),
    ] {
        let path = dir.join(file);
        let header: Option<&[&str]> = if opts.header {
            Some(&["a", "b", "c"])
        } else {
            None
        };
        data::save_csv(&path, &t, &opts, header).unwrap();
        let table = data::read_csv::<f32>(&path, &opts).unwrap();
        assert_eq!(
            table.header().map(|h| h.to_vec()),
            header.map(|h| h.iter().map(|s| s.to_string()).collect())
        );
        let back: Tensor<(usize, Const<3>)> = table.into_tensor().try_realize().unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(back.as_slice()), bits(&values), "{file}");
    }
    let gz = std::fs::read(dir.join("packed.csv.gz")).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "atomic saves leave no temporary files"
    );
    // f64 keeps every digit too.
    let d =
        Tensor::<(usize,), f64>::from_vec_with_shape(vec![0.1, 1.0 / 3.0, 2e-300], (3,)).unwrap();
    let path = dir.join("f64.csv");
    data::save_csv(&path, &d, &CsvOptions::new(), None).unwrap();
    assert_eq!(
        data::load_csv::<f64>(&path, &CsvOptions::new())
            .unwrap()
            .to_vec(),
        d.to_vec()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_errors_name_line_and_column() {
    let opts = CsvOptions::new().header(true);
    let text = "a,b,c\n1,2,3\n\n4,five,6\n";
    let err = data::parse_csv::<f32>(text, &opts, "t.csv").unwrap_err();
    assert!(matches!(err, Error::Format { .. }));
    assert_eq!(
        err.to_string(),
        "t.csv: line 4, column 2 (b): cannot parse \"five\" as a number"
    );
    let err = data::parse_csv::<f32>("1,2,3\n4,5\n", &CsvOptions::new(), "t.csv")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "t.csv: line 2 has 2 columns, expected 3 as on line 1");
    let err = data::parse_csv::<f32>("1,2,3\n4,5,6,7\n", &CsvOptions::new(), "t.csv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2 has 4 columns"), "{err}");
    let err = data::parse_csv::<f32>("1,,3\n", &CsvOptions::new(), "t.csv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1, column 2: cannot parse \"\""), "{err}");
    let err = data::parse_csv::<f32>("x,y\n1,2,3\n", &opts, "t.csv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("header names 2"), "{err}");
    // From a file, the error names the file.
    let dir = temp_dir("csv_errors");
    let path = dir.join("bad.csv");
    std::fs::write(&path, "1;2\n3;oops\n").unwrap();
    let err = data::read_csv::<f32>(&path, &CsvOptions::new().delimiter(';'))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.csv: line 2, column 2"), "{err}");
    assert!(matches!(
        data::read_csv::<f32>(dir.join("missing.csv"), &CsvOptions::new()),
        Err(Error::Io { .. })
    ));
    std::fs::write(dir.join("bad.csv.gz"), b"not gzip").unwrap();
    assert!(data::read_csv::<f32>(dir.join("bad.csv.gz"), &CsvOptions::new()).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_accepts_crlf_blank_lines_and_padding() {
    let t = data::parse_csv::<f32>("\r\n 1 , 2 \r\n\r\n3,4\r\n", &CsvOptions::new(), "t").unwrap();
    assert_eq!(
        (t.rows(), t.cols(), t.as_slice()),
        (2, 2, &[1.0, 2.0, 3.0, 4.0][..])
    );
    assert_eq!(t.line_of(1), Some(4));
    let w = data::parse_csv::<f32>("1  2\t3\n4 5 6", &CsvOptions::new().whitespace(), "t").unwrap();
    assert_eq!(w.cols(), 3);
    let mut l = data::parse_csv::<f32>("1,0\n2,2.5\n", &CsvOptions::new(), "t").unwrap();
    assert!(
        l.take_labels(1)
            .unwrap_err()
            .to_string()
            .contains("line 2, column 2")
    );
    assert!(l.take_labels(2).is_err());
    assert_eq!(l.cols(), 2, "a failed take leaves the table as it was");
    let header_only =
        data::parse_csv::<f32>("a,b\n", &CsvOptions::new().header(true), "t").unwrap();
    assert_eq!(header_only.into_tensor().dims().as_slice(), &[0, 2]);
    assert_eq!(
        data::parse_csv::<f32>("", &CsvOptions::new(), "t")
            .unwrap()
            .rows(),
        0
    );
}

#[test]
fn csv_writes_any_rank() {
    let mut out = Vec::new();
    data::write_csv(
        &mut out,
        &Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]),
        &CsvOptions::new(),
        None,
    )
    .unwrap();
    assert_eq!(out, b"1\n2\n3\n");
    let mut out = Vec::new();
    data::write_csv(
        &mut out,
        &Tensor::<Rank3<2, 1, 2>>::ones(),
        &CsvOptions::new(),
        None,
    )
    .unwrap();
    assert_eq!(out, b"1,1\n1,1\n");
    let mut out = Vec::new();
    assert!(
        data::write_csv(
            &mut out,
            &Tensor::<Rank2<1, 2>>::ones(),
            &CsvOptions::new(),
            Some(&["a"])
        )
        .is_err()
    );
}

proptest! {
    #[test]
    fn csv_round_trips_any_finite_values(values in proptest::collection::vec(any::<f32>().prop_filter("finite", |v| v.is_finite()), 0..40)) {
        let n = values.len() / 4;
        let t = Tensor::<(usize, Const<4>)>::from_vec_with_shape(values[..n * 4].to_vec(), (n, Const)).unwrap();
        let mut out = Vec::new();
        data::write_csv(&mut out, &t, &CsvOptions::new(), None).unwrap();
        let back = data::parse_csv::<f32>(std::str::from_utf8(&out).unwrap(), &CsvOptions::new(), "p").unwrap();
        prop_assert_eq!(back.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>(), t.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn csv_parser_never_panics(text in ".{0,200}") {
        let _ = data::parse_csv::<f32>(&text, &CsvOptions::new().header(true), "p");
        let _ = data::parse_csv::<f64>(&text, &CsvOptions::new().whitespace(), "p");
    }
}

// ---------------------------------------------------------------- bundled data sets

#[test]
fn digits_loads_with_one_call() {
    let d = data::digits().unwrap();
    assert_eq!(d.len(), 1797);
    assert_eq!(d.num_features(), 64);
    let x = d.features().as_slice();
    assert!(
        x.iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
    );
    let mut counts = [0usize; 10];
    d.targets().as_slice().iter().for_each(|&l| counts[l] += 1);
    assert!(counts.iter().all(|&c| c > 170), "{counts:?}");
    // The first image of the file: a zero.
    let (row, label) = d.get(0).unwrap();
    assert_eq!(label, 0);
    assert_eq!(
        &row.to_vec()[..8],
        &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]
    );
}

#[test]
fn iris_loads_with_class_names_and_checks_its_header() {
    let iris = data::iris().unwrap();
    assert_eq!(iris.len(), 150);
    assert_eq!(
        iris.targets().names(),
        ["setosa", "versicolor", "virginica"]
    );
    let mut counts = [0usize; 3];
    iris.targets()
        .as_slice()
        .iter()
        .for_each(|&l| counts[l] += 1);
    assert_eq!(counts, [50, 50, 50]);
    assert_eq!(iris.get(0).unwrap().0.to_vec(), vec![5.1, 3.5, 1.4, 0.2]);
    // The override variant reads another copy, and checks it.
    let dir = temp_dir("iris");
    let copy = dir.join("iris.csv");
    std::fs::copy(data::data_dir().join("iris.csv"), &copy).unwrap();
    assert_eq!(data::iris_from(&copy).unwrap().len(), 150);
    let text = std::fs::read_to_string(&copy)
        .unwrap()
        .replacen("150,4", "151,4", 1);
    std::fs::write(&copy, text).unwrap();
    assert!(
        data::iris_from(&copy)
            .unwrap_err()
            .to_string()
            .contains("line 1")
    );
    assert!(matches!(
        data::iris_from(dir.join("nope.csv")),
        Err(Error::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn diabetes_loads_features_and_targets() {
    let d = data::diabetes().unwrap();
    assert_eq!(d.len(), 442);
    assert_eq!(
        d.get(0).unwrap().0.to_vec(),
        vec![59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    );
    assert_eq!(d.get(0).unwrap().1.to_vec(), vec![151.0]);
    let dir = data::data_dir();
    let swapped = data::diabetes_from(
        dir.join("diabetes_target.csv.gz"),
        dir.join("diabetes_data_raw.csv.gz"),
    );
    assert!(swapped.is_err(), "a 1-column file is not 10 features");
}

#[test]
fn words_loads_the_word_list() {
    let w = data::words().unwrap();
    assert_eq!(w.len(), 104_334);
    assert_eq!(w[0], "A");
    assert!(w.iter().any(|s| s == "Aaron's"));
    let dir = temp_dir("words");
    std::fs::write(dir.join("w.txt"), "alpha\n\nbeta\r\n").unwrap();
    assert_eq!(
        data::words_from(dir.join("w.txt")).unwrap(),
        ["alpha", "beta"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bundled_licences_are_kept_beside_the_data() {
    let readme = std::fs::read_to_string(data::data_dir().join("README.md")).unwrap();
    for needle in [
        "CC BY 4.0",
        "Copyright 2000-2011 by Kevin Atkinson",
        "Efron",
    ] {
        assert!(readme.contains(needle), "{needle}");
    }
}

// ---------------------------------------------------------------- MNIST IDX

fn idx_images(n: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for d in [n, rows, cols] {
        b.extend(d.to_be_bytes());
    }
    b.extend(pixels);
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 1];
    b.extend((labels.len() as u32).to_be_bytes());
    b.extend(labels);
    b
}

#[test]
fn idx_reads_images_and_labels_plain_and_gzipped() {
    let dir = temp_dir("idx");
    let pixels: Vec<u8> = (0..3 * 2 * 4).map(|i| (i * 10) as u8).collect();
    std::fs::write(dir.join("images-idx3-ubyte"), idx_images(3, 2, 4, &pixels)).unwrap();
    std::fs::write(dir.join("labels-idx1-ubyte"), idx_labels(&[7, 0, 9])).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&idx_images(3, 2, 4, &pixels)).unwrap();
    std::fs::write(dir.join("images-idx3-ubyte.gz"), gz.finish().unwrap()).unwrap();

    let x = data::read_idx_images::<f32>(dir.join("images-idx3-ubyte")).unwrap();
    assert_eq!(x.dims().as_slice(), &[3, 2, 4]);
    assert_eq!(x.at(&[1, 1, 3]).unwrap(), 150.0 / 255.0);
    let xz = data::read_idx_images::<f32>(dir.join("images-idx3-ubyte.gz")).unwrap();
    assert_eq!(xz.to_vec(), x.to_vec());
    let y = data::read_idx_labels(dir.join("labels-idx1-ubyte")).unwrap();
    assert_eq!(y.as_slice(), &[7, 0, 9]);
    // Into a dataset: flatten the images to rows.
    let rows = Tensor::<(usize, Const<8>)>::from_vec_with_shape(x.to_vec(), (3, Const)).unwrap();
    let ds = TensorDataset::new(rows, Labels::new(y.to_vec(), 10).unwrap()).unwrap();
    assert_eq!(ds.get(2).unwrap().1, 9);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn idx_rejects_bad_magic_truncation_and_lying_headers() {
    let good = idx_images(2, 2, 2, &[1; 8]);
    let err = |bytes: &[u8]| {
        data::parse_idx_images::<f32>(bytes, "t")
            .unwrap_err()
            .to_string()
    };
    let mut bad_magic = good.clone();
    bad_magic[2] = 0x0d;
    assert!(
        err(&bad_magic).contains("bad magic number"),
        "{}",
        err(&bad_magic)
    );
    assert!(
        err(&idx_labels(&[1, 2])).contains("bad magic number"),
        "labels are not images"
    );
    assert!(err(&good[..good.len() - 1]).contains("the file has 7"));
    assert!(err(&good[..10]).contains("truncated"));
    assert!(err(&[]).contains("truncated"));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(err(&trailing).contains("9"));

    // A header that declares far more data than there is: an error, without allocating it.
    let before = LARGEST.load(Ordering::Relaxed);
    let liar = idx_images(1_000_000_000, 28, 28, &[0; 16]);
    assert!(err(&liar).contains("784000000000 bytes"), "{}", err(&liar));
    let overflow = idx_images(u32::MAX, u32::MAX, u32::MAX, &[]);
    assert!(data::parse_idx_images::<f32>(&overflow, "t").is_err());
    let dir = temp_dir("idx_liar");
    std::fs::write(dir.join("liar"), &liar).unwrap();
    assert!(data::read_idx_images::<f32>(dir.join("liar")).is_err());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&liar).unwrap();
    std::fs::write(dir.join("liar.gz"), gz.finish().unwrap()).unwrap();
    let e = data::read_idx_images::<f32>(dir.join("liar.gz"))
        .unwrap_err()
        .to_string();
    // Over the decompression limit (issue 14), refused from the header alone.
    assert!(
        e.contains("784000000000 bytes") && e.contains("limit"),
        "{e}"
    );
    let lying_labels = {
        let mut b = vec![0, 0, 8, 1];
        b.extend(u32::MAX.to_be_bytes());
        b.push(3);
        b
    };
    assert!(data::parse_idx_labels(&lying_labels, "t").is_err());
    assert!(
        LARGEST.load(Ordering::Relaxed) < (64 << 20).max(before),
        "a lying header made the reader allocate {} bytes",
        LARGEST.load(Ordering::Relaxed)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #[test]
    fn idx_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), magic in any::<bool>()) {
        let mut b = bytes;
        if magic && b.len() >= 4 {
            b[..4].copy_from_slice(&[0, 0, 8, 3]);
        }
        let _ = data::parse_idx_images::<f32>(&b, "p");
        let _ = data::parse_idx_labels(&b, "p");
    }
}

//! The hand-written safetensors reader and writer against the `safetensors` crate (a
//! dev-dependency): the same files accepted with the same contents, the same files refused,
//! byte-identical output.

use super::st_format::{self, Dtype};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

type Parsed = Vec<(String, String, Vec<usize>, Vec<u8>)>;

/// Ours: (name, dtype, shape, bytes) in file order.
fn ours(bytes: &[u8]) -> Result<Parsed, String> {
    Ok(st_format::read(bytes)?
        .into_iter()
        .map(|(n, v)| {
            (
                n,
                v.dtype().name().to_string(),
                v.shape().to_vec(),
                v.data().to_vec(),
            )
        })
        .collect())
}

/// The reference's, in the same form.
fn reference(bytes: &[u8]) -> Result<Parsed, String> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    Ok(meta
        .offset_keys()
        .into_iter()
        .map(|n| {
            let v = st.tensor(&n).expect("listed");
            let dtype = format!("{:?}", v.dtype());
            (n, dtype, v.shape().to_vec(), v.data().to_vec())
        })
        .collect())
}

/// Whether the two agree on `bytes`. Where they may differ, ours is the stricter one: a
/// header naming the same key twice (serde_json keeps the last; we refuse it) and `-0`.
fn agree(bytes: &[u8]) -> Result<(), String> {
    // Empty tensors share an offset, and the reference orders those by hash: compare by name.
    let by_name = |mut t: Parsed| {
        t.sort();
        t
    };
    match (ours(bytes).map(by_name), reference(bytes).map(by_name)) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(_), Err(_)) => Ok(()),
        (Err(e), Ok(_)) if e.contains("appears twice") || e.contains("two `") => Ok(()),
        (a, b) => Err(format!(
            "ours {:?}, reference {:?}",
            a.map(|t| t.len()),
            b.map(|t| t.len())
        )),
    }
}

fn golden_files() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/golden")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_golden_file_reads_as_the_reference_reads_it() {
    let files = golden_files();
    assert!(files.len() > 100, "{} golden files", files.len());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let (a, b) = (ours(&bytes), reference(&bytes));
        assert!(a.is_ok(), "{}: {a:?}", path.display());
        assert_eq!(a, b, "{}", path.display());
    }
}

fn random_tensors(rng: &mut StdRng) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let names = [
        "w",
        "b",
        "0.weight",
        "é\"q\\\n\u{1}/",
        "layers.10.bias",
        "",
        "z",
    ];
    let dtype = [Dtype::F32, Dtype::F64][rng.random_range(0..2)];
    let mut out: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for name in names {
        if rng.random_range(0..3) == 0 {
            continue;
        }
        let shape: Vec<usize> = (0..rng.random_range(0..4))
            .map(|_| rng.random_range(0..4))
            .collect();
        let count: usize = shape.iter().product();
        let bytes = (0..count * dtype.bitsize() / 8)
            .map(|_| rng.random_range(0..=255u8))
            .collect();
        out.push((name.to_string(), dtype, shape, bytes));
    }
    out
}

fn reference_write(tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<_> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            let d = if *d == Dtype::F64 {
                safetensors::Dtype::F64
            } else {
                safetensors::Dtype::F32
            };
            (
                n.as_str(),
                safetensors::tensor::TensorView::new(d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize(views, Some(meta)).unwrap()
}

#[test]
fn written_files_are_byte_identical_to_the_reference() {
    let mut rng = StdRng::seed_from_u64(15);
    for case in 0..200 {
        let tensors = random_tensors(&mut rng);
        let expected = reference_write(&tensors);
        let written = st_format::write(tensors.clone(), &[("format", "pt")]).unwrap();
        assert_eq!(written, expected, "case {case}");
        agree(&written).unwrap();
    }
    // No tensors, no metadata.
    assert_eq!(
        st_format::write(Vec::new(), &[]).unwrap(),
        safetensors::serialize(
            Vec::<(&str, safetensors::tensor::TensorView<'_>)>::new(),
            None
        )
        .unwrap()
    );
}

#[test]
fn the_writer_refuses_bytes_that_do_not_fit_the_shape() {
    let err =
        st_format::write(vec![("w".into(), Dtype::F32, vec![2], vec![0; 7])], &[]).unwrap_err();
    assert!(
        err.contains("tensor `w`: 7 bytes for shape [2] of F32"),
        "{err}"
    );
}

/// `header` (JSON text) and `data` as a file.
fn file(header: &str, data: usize) -> Vec<u8> {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.resize(b.len() + data, 7);
    b
}

#[test]
fn hand_made_headers_agree_and_errors_say_where() {
    let ok = [
        (r#"{}"#, 0),
        (
            r#" { "__metadata__" : null , "a" : { "shape" : [ 2 ] , "dtype" : "I64" , "data_offsets" : [ 0 , 16 ] } } "#,
            16,
        ),
        (
            r#"{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]},"x":{"dtype":"BOOL","shape":[],"data_offsets":[1,2],"extra":{"k":[1,2.5e3,true,null]}}}"#,
            2,
        ),
        (
            r#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            8,
        ),
        (
            r#"{"__metadata__":{"k\u00e9\ud83d\ude00":"v\n"},"z":{"dtype":"U8","shape":[0,5],"data_offsets":[0,0]}}"#,
            0,
        ),
    ];
    for (header, data) in ok {
        let bytes = file(header, data);
        assert!(ours(&bytes).is_ok(), "{header}: {:?}", ours(&bytes));
        agree(&bytes).unwrap_or_else(|e| panic!("{header}: {e}"));
    }
    let bad = [
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            5,
            "the file has 5 after the header",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
            4,
            "tensor `a`: shape [2] of F32 needs 8 bytes, data_offsets [0, 4] hold 4",
        ),
        (
            r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}"#,
            1,
            "3 elements of F4 do not fill whole bytes",
        ),
        (
            r#"{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}"#,
            4,
            "`F31` is not a safetensors dtype",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            4,
            "tensor `a`, shape: at byte 29 of the header: expected a non-negative integer",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            4,
            "more than two data offsets",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1]}}"#,
            4,
            "tensor `a` has no `data_offsets`",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            4,
            "`a` appears twice",
        ),
        (
            r#"{"__metadata__":{"k":1}}"#,
            0,
            "__metadata__ `k` is not a string",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x"#,
            4,
            "expected the end of the header, found `x`",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
            4,
            "too large to exist",
        ),
        (
            r#"[]"#,
            0,
            "at byte 0 of the header: expected `{`, found `[`",
        ),
    ];
    for (header, data, message) in bad {
        let bytes = file(header, data);
        let err = ours(&bytes).unwrap_err();
        assert!(err.contains(message), "{header}: {err}");
        // serde_json keeps the last of two equal keys, so the reference reads that one.
        if !message.contains("appears twice") {
            assert!(reference(&bytes).is_err(), "{header}");
        }
    }
    let mut huge = 200_000_000u64.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    assert!(
        ours(&huge)
            .unwrap_err()
            .contains("above the 100000000 allowed")
    );
}

/// JSON fragments that turn a valid header into many near-valid ones.
const TOKENS: [&str; 24] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "0",
    "-1",
    "1.5",
    "1e2",
    "00",
    " ",
    "null",
    "true",
    "\"F16\"",
    "\"dtype\"",
    "\"shape\"",
    "\"data_offsets\"",
    "\"__metadata__\"",
    "18446744073709551616",
    "\u{e9}",
];

fn mutate_header(valid: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let n = u64::from_le_bytes(valid[..8].try_into().unwrap()) as usize;
    let mut header = valid[8..8 + n].to_vec();
    for _ in 0..rng.random_range(1..=3) {
        let at = rng.random_range(0..=header.len());
        match rng.random_range(0..3) {
            0 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                header.splice(at..at, t.bytes());
            }
            1 if at < header.len() => {
                let len = rng.random_range(1..=4).min(header.len() - at);
                header.drain(at..at + len);
            }
            _ if at < header.len() => header[at] = rng.random_range(0..=255u8),
            _ => {}
        }
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&valid[8 + n..]);
    // Sometimes also the data's length.
    match rng.random_range(0..4) {
        0 => {
            out.pop();
        }
        1 => out.push(0),
        _ => {}
    }
    out
}

#[test]
fn mutated_files_are_refused_or_read_exactly_as_the_reference_does() {
    let mut rng = StdRng::seed_from_u64(1515);
    let mut seeds = vec![
        std::fs::read(golden_files()[0].clone()).unwrap(),
        file(
            r#"{"__metadata__":{"a":"b\"c"},"x":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]},"y":{"dtype":"I8","shape":[3],"data_offsets":[4,7]}}"#,
            7,
        ),
    ];
    for _ in 0..3 {
        let t = random_tensors(&mut rng);
        seeds.push(st_format::write(t, &[("format", "pt")]).unwrap());
    }
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..20_000 {
        let seed = &seeds[case % seeds.len()];
        let bytes = if case % 4 == 0 {
            // Raw byte damage anywhere, length prefix included.
            let mut b = seed.clone();
            let i = rng.random_range(0..b.len());
            b[i] ^= 1 << rng.random_range(0..8);
            if rng.random_range(0..2) == 0 {
                b.truncate(rng.random_range(0..b.len()));
            }
            b
        } else {
            mutate_header(seed, &mut rng)
        };
        if let Err(e) = agree(&bytes) {
            panic!(
                "case {case}: {e}\n{}",
                String::from_utf8_lossy(&bytes[8.min(bytes.len())..])
            );
        }
        if ours(&bytes).is_ok() {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    // Both outcomes were exercised.
    assert!(
        accepted > 500 && refused > 5000,
        "{accepted} accepted, {refused} refused"
    );
}

//! The safetensors file layout, read and written without the `safetensors` crate (whose
//! serde_json/tempfile tree was a fifth of a user's cold build, issue 15): an 8-byte
//! little-endian header length, a JSON header `{name: {dtype, shape, data_offsets}, ...}`
//! with an optional `__metadata__` map of strings, then the tensors' little-endian bytes.
//!
//! Reading accepts exactly what safetensors 0.8 accepts (st_format_tests.rs compares
//! both on golden and mutated files) and writes byte-identical files.

use super::json::{JsonReader, quote};
use std::collections::BTreeSet;

/// safetensors refuses larger headers (and so do we: a hostile length is not allocated).
pub(crate) const MAX_HEADER_SIZE: usize = 100_000_000;

/// The element types of the safetensors format, named as in its headers.
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dtype {
    BOOL,
    F4,
    F6_E2M3,
    F6_E3M2,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    F8_E8M0,
    F8_E4M3FNUZ,
    F8_E5M2FNUZ,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    C64,
    F64,
    I64,
    U64,
}

impl Dtype {
    const ALL: [Dtype; 22] = [
        Dtype::BOOL,
        Dtype::F4,
        Dtype::F6_E2M3,
        Dtype::F6_E3M2,
        Dtype::U8,
        Dtype::I8,
        Dtype::F8_E5M2,
        Dtype::F8_E4M3,
        Dtype::F8_E8M0,
        Dtype::F8_E4M3FNUZ,
        Dtype::F8_E5M2FNUZ,
        Dtype::I16,
        Dtype::U16,
        Dtype::F16,
        Dtype::BF16,
        Dtype::I32,
        Dtype::U32,
        Dtype::F32,
        Dtype::C64,
        Dtype::F64,
        Dtype::I64,
        Dtype::U64,
    ];

    /// The name in headers (`"F32"`).
    pub(crate) fn name(self) -> &'static str {
        use Dtype::*;
        match self {
            BOOL => "BOOL",
            F4 => "F4",
            F6_E2M3 => "F6_E2M3",
            F6_E3M2 => "F6_E3M2",
            U8 => "U8",
            I8 => "I8",
            F8_E5M2 => "F8_E5M2",
            F8_E4M3 => "F8_E4M3",
            F8_E8M0 => "F8_E8M0",
            F8_E4M3FNUZ => "F8_E4M3FNUZ",
            F8_E5M2FNUZ => "F8_E5M2FNUZ",
            I16 => "I16",
            U16 => "U16",
            F16 => "F16",
            BF16 => "BF16",
            I32 => "I32",
            U32 => "U32",
            F32 => "F32",
            C64 => "C64",
            F64 => "F64",
            I64 => "I64",
            U64 => "U64",
        }
    }

    /// Bits per element (4 and 6 for the sub-byte floats).
    pub(crate) fn bitsize(self) -> usize {
        use Dtype::*;
        match self {
            F4 => 4,
            F6_E2M3 | F6_E3M2 => 6,
            BOOL | U8 | I8 | F8_E5M2 | F8_E4M3 | F8_E8M0 | F8_E4M3FNUZ | F8_E5M2FNUZ => 8,
            I16 | U16 | F16 | BF16 => 16,
            I32 | U32 | F32 => 32,
            C64 | F64 | I64 | U64 => 64,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// One tensor of a parsed file: its bytes hold exactly its shape's elements.
#[derive(Debug)]
pub(crate) struct TensorView<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    data: &'a [u8],
}

impl<'a> TensorView<'a> {
    pub(crate) fn dtype(&self) -> Dtype {
        self.dtype
    }
    pub(crate) fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }
}

/// A tensor's entry in the header.
struct Info {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    offsets: (usize, usize),
}

/// The bytes of `count` elements of `dtype`, if whole and not overflowing.
fn byte_size(dtype: Dtype, shape: &[usize], name: &str) -> Result<usize, String> {
    let overflow = || {
        format!(
            "tensor `{name}`: shape {shape:?} of {} is too large to exist",
            dtype.name()
        )
    };
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(overflow)?;
    let bits = count.checked_mul(dtype.bitsize()).ok_or_else(overflow)?;
    if bits % 8 != 0 {
        return Err(format!(
            "tensor `{name}`: {count} elements of {} do not fill whole bytes",
            dtype.name()
        ));
    }
    Ok(bits / 8)
}

/// `{"dtype": .., "shape": [..], "data_offsets": [begin, end]}`; other keys are ignored, as
/// safetensors ignores them.
fn tensor_info(r: &mut JsonReader<'_>, name: String) -> Result<Info, String> {
    let (mut dtype, mut shape, mut offsets) = (None, None, None);
    r.object(|r, key| {
        let duplicate =
            |r: &JsonReader<'_>| r.error(format!("tensor `{name}` has two `{key}` fields"));
        match key.as_str() {
            "dtype" => {
                if dtype.is_some() {
                    return Err(duplicate(r));
                }
                let s = r.string()?;
                dtype = Some(Dtype::from_name(&s).ok_or_else(|| {
                    r.error(format!("tensor `{name}`: `{s}` is not a safetensors dtype"))
                })?);
            }
            "shape" => {
                if shape.is_some() {
                    return Err(duplicate(r));
                }
                let mut dims = Vec::new();
                r.array(|r| {
                    dims.push(r.usize()?);
                    Ok(())
                })
                .map_err(|e| format!("tensor `{name}`, shape: {e}"))?;
                shape = Some(dims);
            }
            "data_offsets" => {
                if offsets.is_some() {
                    return Err(duplicate(r));
                }
                let mut pair = Vec::new();
                r.array(|r| {
                    if pair.len() == 2 {
                        return Err(r.error("more than two data offsets"));
                    }
                    pair.push(r.usize()?);
                    Ok(())
                })
                .map_err(|e| format!("tensor `{name}`, data_offsets: {e}"))?;
                let [begin, end] = pair[..] else {
                    return Err(r.error(format!(
                        "tensor `{name}`: data_offsets needs two numbers, [begin, end]"
                    )));
                };
                offsets = Some((begin, end));
            }
            _ => r.skip_value()?,
        }
        Ok(())
    })?;
    let missing = |field| format!("tensor `{name}` has no `{field}`");
    Ok(Info {
        dtype: dtype.ok_or_else(|| missing("dtype"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
        offsets: offsets.ok_or_else(|| missing("data_offsets"))?,
        name,
    })
}

/// The tensors of a safetensors file in the order of their data; an error says what is
/// wrong and where (the byte of the header, or the tensor).
pub(crate) fn read(bytes: &[u8]) -> Result<Vec<(String, TensorView<'_>)>, String> {
    let Some(len) = bytes.get(..8) else {
        return Err(format!(
            "{} bytes, fewer than the 8 that give the header's length",
            bytes.len()
        ));
    };
    let n = u64::from_le_bytes(len.try_into().expect("8 bytes"));
    let header_len = usize::try_from(n)
        .ok()
        .filter(|&n| n <= MAX_HEADER_SIZE)
        .ok_or_else(|| {
            format!("the header's length is {n} bytes, above the {MAX_HEADER_SIZE} allowed")
        })?;
    let data_start = 8 + header_len;
    let header = bytes.get(8..data_start).ok_or_else(|| {
        format!(
            "the header's length is {header_len} bytes, but only {} follow",
            bytes.len() - 8
        )
    })?;
    let header = std::str::from_utf8(header).map_err(|e| {
        format!(
            "the header is not UTF-8 (at byte {} of the header)",
            e.valid_up_to()
        )
    })?;

    let mut infos = Vec::new();
    let mut names = BTreeSet::new();
    let mut r = JsonReader::new(header);
    r.object(|r, key| {
        if !names.insert(key.clone()) {
            return Err(r.error(format!("`{key}` appears twice")));
        }
        if key == "__metadata__" {
            // Optional; a map of strings to strings.
            if r.eat_null() {
                return Ok(());
            }
            return r.object(|r, k| {
                r.string()
                    .map(drop)
                    .map_err(|e| format!("__metadata__ `{k}` is not a string: {e}"))
            });
        }
        infos.push(tensor_info(r, key)?);
        Ok(())
    })?;
    r.finish()?;

    // The tensors' data must tile the data section in order, with no gap or overlap.
    infos.sort_by_key(|i| i.offsets);
    let mut end = 0;
    for info in &infos {
        let (b, e) = info.offsets;
        if b != end || e < b {
            return Err(format!(
                "tensor `{}`: data_offsets [{b}, {e}] do not begin where the previous tensor ends ({end}), or end before they begin",
                info.name
            ));
        }
        let size = byte_size(info.dtype, &info.shape, &info.name)?;
        if e - b != size {
            return Err(format!(
                "tensor `{}`: shape {:?} of {} needs {size} bytes, data_offsets [{b}, {e}] hold {}",
                info.name,
                info.shape,
                info.dtype.name(),
                e - b
            ));
        }
        end = e;
    }
    let data = &bytes[data_start..];
    if data.len() != end {
        return Err(format!(
            "the tensors' data is {end} bytes, the file has {} after the header",
            data.len()
        ));
    }
    Ok(infos
        .into_iter()
        .map(|i| {
            let data = &data[i.offsets.0..i.offsets.1];
            let view = TensorView {
                dtype: i.dtype,
                shape: i.shape,
                data,
            };
            (i.name, view)
        })
        .collect())
}

/// A safetensors file of `tensors` (`(name, dtype, shape, little-endian bytes)`, names
/// distinct) with `metadata`, laid out as the safetensors crate writes it: tensors sorted by
/// name (for one dtype), header padded with spaces to a multiple of 8 bytes.
pub(crate) fn write(
    mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>, String> {
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let mut header = String::from("{");
    if !metadata.is_empty() {
        header.push_str("\"__metadata__\":{");
        for (i, (k, v)) in metadata.iter().enumerate() {
            if i > 0 {
                header.push(',');
            }
            quote(k, &mut header);
            header.push(':');
            quote(v, &mut header);
        }
        header.push('}');
    }
    let mut offset = 0usize;
    for (i, (name, dtype, shape, bytes)) in tensors.iter().enumerate() {
        if byte_size(*dtype, shape, name)? != bytes.len() {
            return Err(format!(
                "tensor `{name}`: {} bytes for shape {shape:?} of {}",
                bytes.len(),
                dtype.name()
            ));
        }
        if i > 0 || !metadata.is_empty() {
            header.push(',');
        }
        quote(name, &mut header);
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        let end = offset + bytes.len();
        header.push_str(&format!(
            ":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            dtype.name(),
            dims.join(",")
        ));
        offset = end;
    }
    header.push('}');
    let padded = header.len().next_multiple_of(8);
    if padded > MAX_HEADER_SIZE {
        return Err(format!(
            "the header would be {padded} bytes, above the {MAX_HEADER_SIZE} safetensors allows"
        ));
    }
    let mut out = Vec::with_capacity(8 + padded + offset);
    out.extend_from_slice(&(padded as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.resize(8 + padded, b' ');
    for (_, _, _, bytes) in &tensors {
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

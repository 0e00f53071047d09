//! The gzip container (RFC 1952) around miniz_oxide's deflate streams: a streaming reader of
//! the first member of a `.gz` file and a streaming writer.
//!
//! This used to be `flate2` (with miniz_oxide as its backend). Its framing is the few dozen
//! lines below, and without it users' cold builds skip flate2, crc32fast and simd-adler32
//! (issue 15). `flate2` remains a dev-dependency: the tests write and read `.gz` files with
//! it as the reference.

use miniz_oxide::deflate::core::CompressorOxide;
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
use std::io::{self, BufRead, Read, Write};

/// CRC-32 (IEEE, reflected, as gzip and zlib use), slicing by 8 bytes.
#[derive(Clone, Copy, Default)]
struct Crc32(u32);

/// `TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes.
static TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut b = 0;
    while b < 256 {
        let mut c = b as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        t[0][b] = c;
        b += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut b = 0;
        while b < 256 {
            let prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            b += 1;
        }
        k += 1;
    }
    t
}

impl Crc32 {
    fn update(&mut self, bytes: &[u8]) {
        let mut c = !self.0;
        let mut chunks = bytes.chunks_exact(8);
        for w in &mut chunks {
            let lo = c ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            c = TABLES[7][(lo & 0xff) as usize]
                ^ TABLES[6][((lo >> 8) & 0xff) as usize]
                ^ TABLES[5][((lo >> 16) & 0xff) as usize]
                ^ TABLES[4][(lo >> 24) as usize]
                ^ TABLES[3][w[4] as usize]
                ^ TABLES[2][w[5] as usize]
                ^ TABLES[1][w[6] as usize]
                ^ TABLES[0][w[7] as usize];
        }
        for &b in chunks.remainder() {
            c = (c >> 8) ^ TABLES[0][((c ^ b as u32) & 0xff) as usize];
        }
        self.0 = !c;
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

/// Reads exactly `buf.len()` bytes; a short input is a truncated gzip file.
fn read_exact(r: &mut impl BufRead, buf: &mut [u8], field: &str) -> io::Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("truncated gzip {field}"),
        ),
        _ => e,
    })
}

/// Skips a zero-terminated header field (file name, comment).
fn skip_zero_terminated(r: &mut impl BufRead, field: &str) -> io::Result<()> {
    let mut byte = [0u8];
    loop {
        read_exact(r, &mut byte, field)?;
        if byte[0] == 0 {
            return Ok(());
        }
    }
}

/// Reads and checks the member header (RFC 1952 section 2.3).
fn read_header(r: &mut impl BufRead) -> io::Result<()> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let mut h = [0u8; 10];
    read_exact(r, &mut h, "header")?;
    if h[0] != 0x1f || h[1] != 0x8b {
        return Err(invalid("invalid gzip header (no gzip magic bytes)"));
    }
    if h[2] != 8 {
        return Err(invalid("unsupported gzip compression method (not deflate)"));
    }
    let flags = h[3];
    if flags & 0xe0 != 0 {
        return Err(invalid("invalid gzip header (reserved flags set)"));
    }
    if flags & FEXTRA != 0 {
        let mut len = [0u8; 2];
        read_exact(r, &mut len, "header")?;
        let mut left = u16::from_le_bytes(len) as u64;
        let skipped = io::copy(&mut r.take(left), &mut io::sink())?;
        left -= skipped;
        if left > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated gzip header",
            ));
        }
    }
    if flags & FNAME != 0 {
        skip_zero_terminated(r, "header")?;
    }
    if flags & FCOMMENT != 0 {
        skip_zero_terminated(r, "header")?;
    }
    if flags & FHCRC != 0 {
        read_exact(r, &mut [0u8; 2], "header")?;
    }
    Ok(())
}

/// The decompressed bytes of the first gzip member of `inner`, checked against the
/// member's CRC-32 and length when it ends (what `flate2::read::GzDecoder` reads).
pub(crate) struct GzReader<R> {
    inner: R,
    state: Box<InflateState>,
    crc: Crc32,
    len: u32,
    /// The header is read on the first `read`, so that constructing never fails.
    started: bool,
    done: bool,
}

impl<R: BufRead> GzReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        GzReader {
            inner,
            state: InflateState::new_boxed(DataFormat::Raw),
            crc: Crc32::default(),
            len: 0,
            started: false,
            done: false,
        }
    }

    fn check_trailer(&mut self) -> io::Result<()> {
        let mut t = [0u8; 8];
        read_exact(&mut self.inner, &mut t, "trailer")?;
        if u32::from_le_bytes([t[0], t[1], t[2], t[3]]) != self.crc.0 {
            return Err(invalid("corrupt gzip stream: the CRC-32 does not match"));
        }
        if u32::from_le_bytes([t[4], t[5], t[6], t[7]]) != self.len {
            return Err(invalid("corrupt gzip stream: the length does not match"));
        }
        Ok(())
    }
}

impl<R: BufRead> Read for GzReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.started {
            read_header(&mut self.inner)?;
            self.started = true;
        }
        if self.done || out.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.inner.fill_buf()?;
            let eof = input.is_empty();
            let flush = if eof { MZFlush::Finish } else { MZFlush::None };
            let res = miniz_oxide::inflate::stream::inflate(&mut self.state, input, out, flush);
            self.inner.consume(res.bytes_consumed);
            let written = &out[..res.bytes_written];
            self.crc.update(written);
            self.len = self.len.wrapping_add(written.len() as u32);
            match res.status {
                Ok(MZStatus::StreamEnd) => {
                    self.done = true;
                    self.check_trailer()?;
                    return Ok(written.len());
                }
                Ok(_) | Err(MZError::Buf) if !written.is_empty() => return Ok(written.len()),
                Ok(_) | Err(MZError::Buf) if !eof => continue,
                Ok(_) | Err(MZError::Buf) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "incomplete deflate stream",
                    ));
                }
                Err(_) => return Err(invalid("corrupt deflate stream")),
            }
        }
    }
}

/// Writes a gzip file (one member, compression level 6 as `flate2`'s default) to `inner`;
/// [`finish`](Self::finish) writes the end of the stream and the trailer.
pub(crate) struct GzWriter<W: Write> {
    inner: W,
    compressor: Box<CompressorOxide>,
    crc: Crc32,
    len: u32,
    buf: Vec<u8>,
}

impl<W: Write> GzWriter<W> {
    pub(crate) fn new(mut inner: W) -> io::Result<Self> {
        // Magic, deflate, no flags, no time, no extra flags, OS unknown.
        inner.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])?;
        let mut compressor: Box<CompressorOxide> = Box::default();
        compressor.set_format_and_level(DataFormat::Raw, 6);
        Ok(GzWriter {
            inner,
            compressor,
            crc: Crc32::default(),
            len: 0,
            buf: vec![0; 32 << 10],
        })
    }

    /// Compresses `input` (all of it) with `flush`, writing what comes out.
    fn run(&mut self, mut input: &[u8], flush: MZFlush) -> io::Result<()> {
        loop {
            let res = miniz_oxide::deflate::stream::deflate(
                &mut self.compressor,
                input,
                &mut self.buf,
                flush,
            );
            input = &input[res.bytes_consumed..];
            self.inner.write_all(&self.buf[..res.bytes_written])?;
            match res.status {
                Ok(MZStatus::StreamEnd) => return Ok(()),
                // The output buffer is full: more may be pending.
                Ok(_) if res.bytes_written == self.buf.len() => continue,
                Ok(_) if input.is_empty() && !matches!(flush, MZFlush::Finish) => return Ok(()),
                Ok(_) => continue,
                // No input, no flush, nothing pending.
                Err(MZError::Buf) => return Ok(()),
                Err(_) => return Err(io::Error::other("deflate failed")),
            }
        }
    }

    /// Ends the deflate stream and writes the CRC-32 and length; returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.run(&[], MZFlush::Finish)?;
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.0.to_le_bytes());
        trailer[4..].copy_from_slice(&self.len.to_le_bytes());
        self.inner.write_all(&trailer)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for GzWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.crc.update(data);
        self.len = self.len.wrapping_add(data.len() as u32);
        self.run(data, MZFlush::None)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.run(&[], MZFlush::Sync)?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_known_strings() {
        let crc = |b: &[u8]| {
            let mut c = Crc32::default();
            c.update(b);
            c.0
        };
        assert_eq!(crc(b""), 0);
        assert_eq!(crc(b"123456789"), 0xCBF4_3926);
        let text = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(crc(text), 0x414F_A339);
        // Split anywhere, the same.
        let mut c = Crc32::default();
        c.update(&text[..5]);
        c.update(&text[5..]);
        assert_eq!(c.0, 0x414F_A339);
    }

    #[test]
    fn round_trip_through_writer_and_reader() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut w = GzWriter::new(Vec::new()).unwrap();
        for chunk in text.chunks(10_007) {
            w.write_all(chunk).unwrap();
        }
        let gz = w.finish().unwrap();
        let mut back = Vec::new();
        GzReader::new(&gz[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, text);
        // A flipped trailer byte is a checksum error; a cut stream is an error.
        let mut bad = gz.clone();
        let n = bad.len();
        bad[n - 6] ^= 1;
        assert!(
            GzReader::new(&bad[..])
                .read_to_end(&mut Vec::new())
                .is_err()
        );
        assert!(
            GzReader::new(&gz[..n / 2])
                .read_to_end(&mut Vec::new())
                .is_err()
        );
        assert!(
            GzReader::new(&b"not gzip"[..])
                .read_to_end(&mut Vec::new())
                .is_err()
        );
    }
}

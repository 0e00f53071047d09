//! Build-time error messages that name numbers.
//!
//! `panic!` in a constant cannot format integers, but it can print a `&str` built in the
//! constant itself: [`ConstMsg`] writes text and numbers into a fixed buffer, so a failed
//! shape check reads "computed dimension 800 does not equal 801" instead of only naming
//! the types involved.

/// A message assembled in a `const fn`: `ConstMsg::new().s("size ").n(3).fail()`.
#[derive(Clone, Copy)]
pub(crate) struct ConstMsg {
    buf: [u8; 512],
    len: usize,
}

impl ConstMsg {
    /// An empty message.
    pub(crate) const fn new() -> Self {
        ConstMsg {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Appends text; text past the buffer's end is dropped.
    pub(crate) const fn s(mut self, text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buf.len() {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// Appends another message.
    pub(crate) const fn m(mut self, other: &ConstMsg) -> Self {
        let mut i = 0;
        while i < other.len && self.len < self.buf.len() {
            self.buf[self.len] = other.buf[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// Whether nothing was written.
    pub(crate) const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a number in decimal.
    pub(crate) const fn n(mut self, value: usize) -> Self {
        let mut digits = [0u8; 20];
        let (mut count, mut v) = (0, value);
        loop {
            digits[count] = b'0' + (v % 10) as u8;
            count += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        while count > 0 && self.len < self.buf.len() {
            count -= 1;
            self.buf[self.len] = digits[count];
            self.len += 1;
        }
        self
    }

    /// Panics with the message: a build error when reached during constant evaluation.
    pub(crate) const fn fail(&self) -> ! {
        // Only whole ASCII pieces are written unless a multi-byte character was cut at the
        // buffer's end, so the fallback is for that case alone.
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(text) => panic!("{}", text),
            Err(_) => panic!("shape check failed (message too long to show)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConstMsg;

    #[test]
    fn formats_text_and_numbers() {
        let m = ConstMsg::new().s("a ").n(0).s(" b ").n(1234567).s(" c");
        assert_eq!(
            core::str::from_utf8(&m.buf[..m.len]).unwrap(),
            "a 0 b 1234567 c"
        );
        let r = std::panic::catch_unwind(|| ConstMsg::new().s("size ").n(801).fail());
        let e = r.unwrap_err();
        assert_eq!(
            e.downcast_ref::<String>().map(String::as_str),
            Some("size 801")
        );
    }
}

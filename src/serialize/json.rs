//! The part of JSON a safetensors header uses: objects, arrays, strings with escapes and
//! non-negative integers are read; any other value (a float, `true`, nested objects) can be
//! skipped. Hand-written because serde_json and its tree were a fifth of a user's cold
//! build for one header (issue 15). Every read is bounds-checked and every error says what
//! was expected at which byte; nothing here panics or allocates more than the input holds.

/// Skipped values nest at most this deep (serde_json's limit too), so a hostile header of
/// `[[[[...` cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// A cursor over JSON text; errors are "at byte N of the header: ...".
pub(crate) struct JsonReader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> JsonReader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    /// An error at the current position.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> String {
        format!("at byte {} of the header: {message}", self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// What the next byte is, for errors: `` `x` `` or "the end".
    fn found(&self) -> String {
        match self.text[self.pos..].chars().next() {
            Some(c) => format!("`{}`", c.escape_debug()),
            None => "the end".to_string(),
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!(
                "expected `{}`, found {}",
                byte as char,
                self.found()
            )))
        }
    }

    /// Consumes `byte` if it comes next (after whitespace).
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// After the value: nothing but whitespace (safetensors pads headers with spaces).
    pub(crate) fn finish(&mut self) -> Result<(), String> {
        self.skip_whitespace();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error(format!(
                "expected the end of the header, found {}",
                self.found()
            ))),
        }
    }

    /// `null`, if it comes next.
    pub(crate) fn eat_null(&mut self) -> bool {
        self.skip_whitespace();
        let hit = self.text[self.pos..].starts_with("null");
        if hit {
            self.pos += 4;
        }
        hit
    }

    /// Reads an object, calling `member(self, key)` with the reader on each value.
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, String) -> Result<(), String>,
    ) -> Result<(), String> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            member(self, key)?;
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    /// Reads an array, calling `element(self)` on each element.
    pub(crate) fn array(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<(), String> {
        self.expect(b'[')?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            element(self)?;
            if self.eat(b']') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    /// A string, escapes decoded.
    pub(crate) fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let bytes = self.text.as_bytes();
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(self.error("the string does not end"));
            };
            match b {
                b'"' => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    out.push(self.escape()?);
                    run = self.pos;
                }
                0..=0x1f => return Err(self.error("a control character inside a string")),
                _ => self.pos += 1,
            }
        }
    }

    /// The character of the escape after a `\`.
    fn escape(&mut self) -> Result<char, String> {
        let Some(b) = self.peek() else {
            return Err(self.error("the string does not end"));
        };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                if !(0xd800..0xdc00).contains(&first) {
                    return char::from_u32(first).ok_or_else(|| {
                        self.error(format!("`\\u{first:04x}` is a lone surrogate"))
                    });
                }
                // A high surrogate must be followed by `\u` and a low one.
                if !self.text[self.pos..].starts_with("\\u") {
                    return Err(self.error(format!("`\\u{first:04x}` is a lone surrogate")));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xdc00..0xe000).contains(&second) {
                    return Err(self.error(format!(
                        "`\\u{first:04x}` is not followed by a low surrogate"
                    )));
                }
                let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                char::from_u32(code).ok_or_else(|| self.error("an invalid `\\u` escape"))?
            }
            _ => {
                self.pos -= 1;
                let c = self.text[self.pos..].chars().next().unwrap_or('?');
                return Err(self.error(format!("`\\{}` is not a JSON escape", c.escape_debug())));
            }
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .as_bytes()
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("a `\\u` escape needs 4 hex digits"))?;
        let mut value = 0;
        for &d in digits {
            let v = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.error("a `\\u` escape needs 4 hex digits"))?;
            value = value * 16 + v;
        }
        self.pos += 4;
        Ok(value)
    }

    /// A non-negative integer that fits a `usize` (no sign, fraction or exponent).
    pub(crate) fn usize(&mut self) -> Result<usize, String> {
        self.skip_whitespace();
        let start = self.pos;
        let text = self.text;
        while text
            .as_bytes()
            .get(self.pos)
            .is_some_and(u8::is_ascii_digit)
        {
            self.pos += 1;
        }
        let digits = &text[start..self.pos];
        let number_goes_on = matches!(self.peek(), Some(b'.' | b'e' | b'E'));
        if digits.is_empty() || number_goes_on {
            self.pos = start;
            let what = if matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
                "a non-negative integer (not a negative or fractional number)".to_string()
            } else {
                format!("a non-negative integer, found {}", self.found())
            };
            return Err(self.error(format!("expected {what}")));
        }
        if digits.len() > 1 && digits.starts_with('0') {
            self.pos = start;
            return Err(self.error(format!("`{digits}`: JSON numbers have no leading zeros")));
        }
        digits.parse().map_err(|_| {
            self.pos = start;
            self.error(format!("{digits} is too large for this machine's usize"))
        })
    }

    /// Skips any JSON value.
    pub(crate) fn skip_value(&mut self) -> Result<(), String> {
        self.skip_nested(0)
    }

    fn skip_nested(&mut self, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!("values nested more than {MAX_DEPTH} deep")));
        }
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(|r, _| r.skip_nested(depth + 1)),
            Some(b'[') => self.array(|r| r.skip_nested(depth + 1)),
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.skip_number(),
            _ => {
                for word in ["true", "false", "null"] {
                    if self.text[self.pos..].starts_with(word) {
                        self.pos += word.len();
                        return Ok(());
                    }
                }
                Err(self.error(format!("expected a JSON value, found {}", self.found())))
            }
        }
    }

    /// Any JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn skip_number(&mut self) -> Result<(), String> {
        let bytes = self.text.as_bytes();
        let digits = |r: &mut Self| {
            let start = r.pos;
            while bytes.get(r.pos).is_some_and(u8::is_ascii_digit) {
                r.pos += 1;
            }
            r.pos - start
        };
        self.eat_byte(b'-');
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 || (n > 1 && bytes[int_start] == b'0') {
            return Err(self.error("a malformed number"));
        }
        if self.eat_byte(b'.') && digits(self) == 0 {
            return Err(self.error("a malformed number"));
        }
        if self.eat_byte(b'e') || self.eat_byte(b'E') {
            let _ = self.eat_byte(b'+') || self.eat_byte(b'-');
            if digits(self) == 0 {
                return Err(self.error("a malformed number"));
            }
        }
        Ok(())
    }

    /// Consumes `byte` if it is next, without skipping whitespace.
    fn eat_byte(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }
}

/// `s` as a JSON string literal, escaped the way serde_json does (`"`, `\`, and control
/// characters; everything else as is), so headers are byte-identical to safetensors'.
pub(crate) fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> Result<String, String> {
        let mut r = JsonReader::new(text);
        let s = r.string()?;
        r.finish()?;
        Ok(s)
    }

    #[test]
    fn strings_decode_every_escape() {
        assert_eq!(
            string(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap(),
            "a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1f600}"
        );
        assert_eq!(string("\"h\u{e9}\u{1f600}\"").unwrap(), "h\u{e9}\u{1f600}");
        for bad in [
            "\"abc",
            "\"a\\",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"\\ud800\"",
            "\"\\ud800\\u0041\"",
            "\"\\udc00\"",
            "\"a\nb\"",
            "\"a\" x",
        ] {
            assert!(string(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quote_round_trips() {
        let s = "q\"b\\s\n\r\t\u{1}\u{8}\u{c}\u{1f}\u{7f}é/";
        let mut quoted = String::new();
        quote(s, &mut quoted);
        assert_eq!(
            quoted,
            "\"q\\\"b\\\\s\\n\\r\\t\\u0001\\b\\f\\u001f\u{7f}é/\""
        );
        assert_eq!(string(&quoted).unwrap(), s);
    }

    #[test]
    fn integers_are_non_negative_and_fit() {
        let read = |t: &str| JsonReader::new(t).usize();
        assert_eq!(read(" 0"), Ok(0));
        assert_eq!(read("18446744073709551615"), Ok(usize::MAX));
        for bad in [
            "-1",
            "1.0",
            "1e3",
            "01",
            "",
            "x",
            "18446744073709551616",
            "-",
        ] {
            let err = read(bad).unwrap_err();
            assert!(err.starts_with("at byte "), "{bad:?}: {err}");
        }
    }

    #[test]
    fn any_value_can_be_skipped_and_nesting_is_bounded() {
        let mut r = JsonReader::new(
            r#"{"a": [1, -2.5e+3, 0.1, true, false, null, "s\"", {}, []], "b": {"c": {}}}"#,
        );
        r.skip_value().unwrap();
        r.finish().unwrap();
        for bad in [
            "[1,]",
            "{\"a\" 1}",
            "[01]",
            "[1.]",
            "[1e]",
            "[-]",
            "tru",
            "{,}",
            "[",
        ] {
            assert!(JsonReader::new(bad).skip_value().is_err(), "{bad:?}");
        }
        let deep = "[".repeat(100_000);
        let err = JsonReader::new(&deep).skip_value().unwrap_err();
        assert!(err.contains("nested more than 128 deep"), "{err}");
    }

    #[test]
    fn errors_name_the_byte() {
        let mut r = JsonReader::new(r#"{"a" 1}"#);
        let err = r.object(|r, _| r.skip_value()).unwrap_err();
        assert_eq!(err, "at byte 5 of the header: expected `:`, found `1`");
    }
}

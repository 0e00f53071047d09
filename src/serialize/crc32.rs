//! CRC-32 (IEEE 802.3, the checksum of gzip and PNG), for the checkpoint format.

const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// A running CRC-32: feed bytes with [`update`](Crc32::update), read it with
/// [`finish`](Crc32::finish).
///
/// ```
/// use shaped::serialize::Crc32;
/// let mut c = Crc32::new();
/// c.update(b"1234");
/// c.update(b"56789");
/// assert_eq!(c.finish(), shaped::serialize::crc32(b"123456789"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// The checksum of no bytes.
    ///
    /// ```
    /// assert_eq!(shaped::serialize::Crc32::new().finish(), 0);
    /// ```
    pub fn new() -> Self {
        Crc32(!0)
    }
    /// Adds `bytes`.
    ///
    /// ```
    /// let mut c = shaped::serialize::Crc32::new();
    /// c.update(b"a");
    /// assert_eq!(c.finish(), 0xe8b7_be43);
    /// ```
    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = self.0;
        for &b in bytes {
            c = TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }
    /// The checksum of everything added.
    ///
    /// ```
    /// let mut c = shaped::serialize::Crc32::new();
    /// c.update(b"123456789");
    /// assert_eq!(c.finish(), 0xcbf4_3926);
    /// ```
    pub fn finish(&self) -> u32 {
        !self.0
    }
}

/// The CRC-32 of `bytes`.
///
/// ```
/// assert_eq!(shaped::serialize::crc32(b"123456789"), 0xcbf4_3926);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

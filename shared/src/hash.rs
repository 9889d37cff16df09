//! SHA-256 as the system names content: 64 lowercase hex digits, computed by streaming.

use std::fmt;
use std::io::{self, Read};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Read size for hashing: large enough for SHA-NI to run at full speed, small enough to be
/// irrelevant to memory.
const CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not a SHA-256: expected 64 hexadecimal digits")]
pub struct HashError(String);

/// A SHA-256 digest as 64 lowercase hex digits; also the blob's file name on the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// Accepts upper or lower case and stores lower case.
    pub fn parse(text: &str) -> Result<Sha256Hex, HashError> {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Hex(text.to_ascii_lowercase()))
        } else {
            let shown: String = text.chars().take(80).collect();
            Err(HashError(shown))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_digest(bytes: &[u8]) -> Sha256Hex {
        Sha256Hex(to_hex(bytes))
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = HashError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sha256Hex::parse(&value)
    }
}

impl From<Sha256Hex> for String {
    fn from(value: Sha256Hex) -> Self {
        value.0
    }
}

/// Lowercase hex of any bytes (digests, random tokens and names).
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes.iter().flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]).map(char::from).collect()
}

/// Incremental SHA-256 that also counts bytes, for hashing data as it streams past.
#[derive(Default, Clone)]
pub struct Sha256Stream {
    hasher: Sha256,
    len: u64,
}

impl Sha256Stream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self) -> (Sha256Hex, u64) {
        (Sha256Hex::from_digest(&self.hasher.finalize()), self.len)
    }
}

/// The digest of bytes already in memory (a token, a manifest): no buffer to fill.
pub fn sha256_bytes(bytes: &[u8]) -> Sha256Hex {
    let mut stream = Sha256Stream::new();
    stream.update(bytes);
    stream.finish().0
}

/// Hashes everything `reader` yields with a fixed-size buffer; returns the digest and length.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<(Sha256Hex, u64)> {
    let mut buf = vec![0u8; CHUNK];
    let mut stream = Sha256Stream::new();
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(stream.finish()),
            Ok(n) => stream.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let (empty, len) = sha256_reader(io::empty()).unwrap();
        assert_eq!(empty.as_str(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(len, 0);
        let (abc, _) = sha256_reader(&b"abc"[..]).unwrap();
        assert_eq!(abc.as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_bytes(b"abc"), abc);
    }

    #[test]
    fn streams_longer_than_one_buffer() {
        // 1,000,000 'a' is the FIPS 180-2 long vector; it spans several reads.
        let data = io::repeat(b'a').take(1_000_000);
        let (digest, len) = sha256_reader(data).unwrap();
        assert_eq!(digest.as_str(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        assert_eq!(len, 1_000_000);
    }

    #[test]
    fn parse_checks_form() {
        let upper = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_eq!(Sha256Hex::parse(upper).unwrap().as_str(), upper.to_ascii_lowercase());
        assert!(Sha256Hex::parse("abc").is_err());
        assert!(Sha256Hex::parse(&"g".repeat(64)).is_err());
        assert!(Sha256Hex::parse(&"é".repeat(32)).is_err());
    }
}

//! A SigV4 signature: 32 bytes, written as 64 hex digits. It has no `==`: a guess compared with
//! an early-exit equality leaks, byte by byte, how close it was.

use std::fmt;
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct Signature([u8; 32]);

const NOT_A_DIGIT: u8 = 0x80;

/// The value of each lower-case hex digit; `NOT_A_DIGIT` for every other byte.
static LOWER_HEX: [u8; 256] = {
    let mut table = [NOT_A_DIGIT; 256];
    let mut d = 0;
    while d < 16 {
        table[b"0123456789abcdef"[d] as usize] = d as u8;
        d += 1;
    }
    table
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSignature;

impl Signature {
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Signature(bytes)
    }

    /// Reads the 64 lower-case hex digits a client sent. AWS accepts no other form, and
    /// neither do we: one signature, one spelling.
    pub fn from_hex(hex: &[u8]) -> Result<Self, InvalidSignature> {
        if hex.len() != 64 {
            return Err(InvalidSignature);
        }
        let mut bytes = [0u8; 32];
        // Every digit looked up, then one check: no branch per digit.
        let mut invalid = 0;
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let (high, low) = (
                LOWER_HEX[usize::from(pair[0])],
                LOWER_HEX[usize::from(pair[1])],
            );
            invalid |= high | low;
            *byte = (high << 4) | (low & 0x0f);
        }
        if invalid & NOT_A_DIGIT != 0 {
            return Err(InvalidSignature);
        }
        Ok(Signature(bytes))
    }

    pub fn to_hex(&self) -> String {
        self.hex().as_str().to_owned()
    }

    /// The 64 hex digits, on the stack.
    pub fn hex(&self) -> Hex64 {
        Hex64::of(&self.0)
    }

    /// Constant-time comparison.
    pub fn verifies(&self, claimed: &Signature) -> bool {
        same_words::<4>(&self.0, &claimed.0)
    }
}

/// Whether two runs of `8 * W` bytes are equal, in time that does not depend on where they
/// differ: for anything compared with a secret-derived MAC. A word at a time, since `subtle`
/// fences every element it compares.
pub fn same_words<const W: usize>(a: &[u8], b: &[u8]) -> bool {
    a.len() == 8 * W && b.len() == 8 * W && bool::from(words::<W>(a).ct_eq(&words::<W>(b)))
}

fn words<const W: usize>(bytes: &[u8]) -> [u64; W] {
    let mut words = [0u64; W];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        *word = u64::from_le_bytes(eight);
    }
    words
}

/// 32 bytes as 64 lower-case hex digits, without an allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hex64([u8; 64]);

impl Hex64 {
    pub fn of(bytes: &[u8; 32]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, byte) in bytes.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(byte >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        Hex64(out)
    }

    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // Hex digits only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Never prints the value: a valid signature is a bearer credential until it expires.
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(*****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_compare() {
        let hex = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let a = Signature::from_hex(hex.as_bytes()).unwrap();
        assert_eq!(a.to_hex(), hex);
        assert_eq!(a.hex().as_str(), hex);
        assert!(a.verifies(&Signature::from_hex(hex.as_bytes()).unwrap()));
        let mut flipped = hex.as_bytes().to_vec();
        flipped[63] = b'5';
        assert!(!a.verifies(&Signature::from_hex(&flipped).unwrap()));
        // A difference in any byte of any word is seen.
        for at in 0..32 {
            let mut other = a.clone();
            other.0[at] ^= 0x10;
            assert!(!a.verifies(&other), "{at}");
        }
        assert_eq!(format!("{a:?}"), "Signature(*****)");
    }

    #[test]
    fn refuses_wrong_lengths_and_digits() {
        assert!(Signature::from_hex(b"").is_err());
        assert!(Signature::from_hex(&[b'a'; 63]).is_err());
        assert!(Signature::from_hex(&[b'a'; 65]).is_err());
        assert!(Signature::from_hex(&[b'g'; 64]).is_err());
        assert!(Signature::from_hex(&[b'A'; 64]).is_err());
        let mut one_upper = [b'a'; 64];
        one_upper[17] = b'F';
        assert!(Signature::from_hex(&one_upper).is_err());
        for b in 0..=255u8 {
            for at in [0, 1, 62, 63] {
                let mut hex = [b'0'; 64];
                hex[at] = b;
                let digit = b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
                assert_eq!(Signature::from_hex(&hex).is_ok(), digit, "{b} at {at}");
            }
        }
    }
}

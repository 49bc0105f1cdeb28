//! A SigV2 signature: the 20 bytes of an HMAC-SHA1, written in standard base64. Like the SigV4
//! signature it has no `==`, only a constant-time comparison.

use crate::sigv4::signing::SecretKey;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use std::fmt;
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct SignatureV2([u8; 20]);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSignatureV2;

impl SignatureV2 {
    /// Reads the 28 base64 characters (padding included) a client sent; no other spelling.
    pub fn from_base64(text: &[u8]) -> Result<Self, InvalidSignatureV2> {
        if text.len() != 28 {
            return Err(InvalidSignatureV2);
        }
        let mut bytes = [0u8; 20];
        match base64::engine::general_purpose::STANDARD.decode_slice(text, &mut bytes) {
            Ok(20) => Ok(SignatureV2(bytes)),
            _ => Err(InvalidSignatureV2),
        }
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Constant-time comparison.
    pub fn verifies(&self, claimed: &SignatureV2) -> bool {
        self.0.ct_eq(&claimed.0).into()
    }
}

/// Never prints the value: a valid signature is a bearer credential until it expires.
impl fmt::Debug for SignatureV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignatureV2(*****)")
    }
}

/// `Base64(HMAC-SHA1(secret, string to sign))`.
pub fn sign(secret: &SecretKey, string_to_sign: &[u8]) -> SignatureV2 {
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret.expose()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(string_to_sign);
    SignatureV2(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_documented_example() {
        let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let sts = "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg";
        let signature = sign(&secret, sts.as_bytes());
        assert_eq!(signature.to_base64(), "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=");
        let claimed = SignatureV2::from_base64(b"qgk2+6Sv9/oM7G3qLEjTH1a1l1g=").unwrap();
        assert!(signature.verifies(&claimed));
        let other = SignatureV2::from_base64(b"qgk2+6Sv9/oM7G3qLEjTH1a1l1k=").unwrap();
        assert!(!signature.verifies(&other));
        assert_eq!(format!("{signature:?}"), "SignatureV2(*****)");
    }

    #[test]
    fn refuses_other_spellings() {
        for bad in [
            &b""[..],
            b"qgk2+6Sv9/oM7G3qLEjTH1a1l1g",
            b"qgk2+6Sv9/oM7G3qLEjTH1a1l1g==",
            b"qgk2-6Sv9_oM7G3qLEjTH1a1l1g=",
            b"qgk2 6Sv9/oM7G3qLEjTH1a1l1g=",
            // Stray low bits in the last character: another spelling of the same bytes.
            b"qgk2+6Sv9/oM7G3qLEjTH1a1l1h=",
        ] {
            assert!(
                SignatureV2::from_base64(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

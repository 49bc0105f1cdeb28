//! The signing steps of SigV4 after the canonical request: the string to sign, the signing
//! key derived from the secret for one scope, and the signature.

use super::amz_date::AmzDate;
use super::credential::Scope;
use super::joined::update_joined;
use super::signature::{Hex64, Signature};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::fmt;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

type HmacSha256 = Hmac<Sha256>;

/// A secret access key. Never printed, never compared.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(secret: impl Into<String>) -> Self {
        SecretKey(secret.into())
    }

    /// The key bytes, for the other signing schemes' MACs (SigV2 is keyed with the secret
    /// itself).
    pub(crate) fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(*****)")
    }
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`, held
/// as an HMAC already keyed with it: each signature then costs the message's blocks only,
/// not the two blocks of key setup.
#[derive(Clone)]
pub struct SigningKey(HmacSha256);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(*****)")
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = keyed(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

impl SigningKey {
    pub fn derive(secret: &SecretKey, scope: &Scope<'_>) -> Self {
        let mut k_secret = Vec::with_capacity(4 + secret.0.len());
        k_secret.extend_from_slice(b"AWS4");
        k_secret.extend_from_slice(secret.0.as_bytes());
        let k_date = hmac(&k_secret, scope.date.as_bytes());
        let k_region = hmac(&k_date, scope.region.as_bytes());
        let k_service = hmac(&k_region, scope.service.as_bytes());
        SigningKey(keyed(&hmac(&k_service, b"aws4_request")))
    }

    /// The signature of any string to sign (request, chunk or trailer).
    pub fn sign(&self, string_to_sign: &[u8]) -> Signature {
        self.sign_parts(&[string_to_sign])
    }

    /// The signature of the string to sign made of `parts`, fed to the MAC as they are: the
    /// string itself is never put together.
    pub fn sign_parts(&self, parts: &[&[u8]]) -> Signature {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        Signature::from_bytes(mac.finalize().into_bytes().into())
    }

    /// The request signature: `AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex canonical hash>`,
    /// streamed into the MAC (see `string_to_sign` for the same as text).
    pub fn sign_request(
        &self,
        date: &AmzDate,
        scope: &Scope<'_>,
        canonical_hash: &[u8; 32],
    ) -> Signature {
        let date = date.text();
        let hash = Hex64::of(canonical_hash);
        let mut mac = self.0.clone();
        update_joined(
            &mut mac,
            &[
                ALGORITHM.as_bytes(),
                b"\n",
                &date,
                b"\n",
                scope.date.as_bytes(),
                b"/",
                scope.region.as_bytes(),
                b"/",
                scope.service.as_bytes(),
                b"/aws4_request\n",
                hash.as_bytes(),
            ],
        );
        Signature::from_bytes(mac.finalize().into_bytes().into())
    }
}

/// Hex SHA-256, the digest form SigV4 uses everywhere.
pub fn hex_sha256(data: &[u8]) -> String {
    Hex64::of(&Sha256::digest(data).into()).as_str().to_owned()
}

/// `AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(date: &AmzDate, scope: &Scope<'_>, canonical_request: &[u8]) -> String {
    use std::fmt::Write;
    let mut sts = String::with_capacity(160 + scope.region.len());
    sts.push_str(ALGORITHM);
    sts.push('\n');
    // Writing to a String cannot fail.
    let _ = write!(sts, "{date}\n{scope}\n");
    sts.push_str(&hex_sha256(canonical_request));
    sts
}

/// A secret together with the signing keys recently derived from it.
///
/// Deriving costs four HMACs; a key is valid for a whole day and region, so nearly every
/// request finds its key here. Keyed by (date, region, service); a handful of slots covers a
/// day boundary and a few regions without letting a client grow it.
pub struct Secret {
    key: SecretKey,
    cache: RefCell<[Option<CachedKey>; CACHE_SLOTS]>,
}

const CACHE_SLOTS: usize = 4;

#[derive(Clone)]
struct CachedKey {
    date: String,
    region: String,
    service: String,
    key: SigningKey,
}

impl CachedKey {
    fn is_for(&self, scope: &Scope<'_>) -> bool {
        self.date == scope.date && self.region == scope.region && self.service == scope.service
    }
}

impl Secret {
    pub fn new(key: SecretKey) -> Self {
        Secret {
            key,
            cache: RefCell::new(Default::default()),
        }
    }

    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    pub fn signing_key(&self, scope: &Scope<'_>) -> SigningKey {
        // A failed borrow can only mean re-entrance; derive without the cache then.
        let Ok(mut slots) = self.cache.try_borrow_mut() else {
            return SigningKey::derive(&self.key, scope);
        };
        if let Some(hit) = slots.iter().flatten().find(|c| c.is_for(scope)) {
            return hit.key.clone();
        }
        let key = SigningKey::derive(&self.key, scope);
        // Newest first; the oldest falls off the end.
        slots.rotate_right(1);
        slots[0] = Some(CachedKey {
            date: scope.date.to_owned(),
            region: scope.region.to_owned(),
            service: scope.service.to_owned(),
            key: key.clone(),
        });
        key
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(*****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(date: &'static str) -> Scope<'static> {
        Scope {
            date,
            region: "us-east-1",
            service: "s3",
        }
    }

    #[test]
    fn signs_the_documented_presigned_example() {
        let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let sts = "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04";
        let sig = SigningKey::derive(&secret, &scope("20130524")).sign(sts.as_bytes());
        assert_eq!(
            sig.to_hex(),
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn streamed_request_signature_equals_the_string_to_sign_signed() {
        let key = SigningKey::derive(&SecretKey::new("s"), &scope("20130524"));
        let date = AmzDate::parse(b"20130524T000000Z").unwrap();
        let canonical = b"GET\n/\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD";
        let hash: [u8; 32] = Sha256::digest(canonical).into();
        let text = string_to_sign(&date, &scope("20130524"), canonical);
        assert_eq!(
            key.sign_request(&date, &scope("20130524"), &hash).to_hex(),
            key.sign(text.as_bytes()).to_hex()
        );
    }

    #[test]
    fn cache_returns_the_derived_key_and_evicts_the_oldest() {
        let secret = Secret::new(SecretKey::new("s"));
        let days = ["20240101", "20240102", "20240103", "20240104", "20240105"];
        for day in days {
            let cached = secret.signing_key(&scope(day)).sign(b"x").to_hex();
            let fresh = SigningKey::derive(&secret.key, &scope(day))
                .sign(b"x")
                .to_hex();
            assert_eq!(cached, fresh);
        }
        let slots = secret.cache.borrow();
        let held: Vec<&str> = slots.iter().flatten().map(|c| c.date.as_str()).collect();
        assert_eq!(held, ["20240105", "20240104", "20240103", "20240102"]);
    }

    /// A cached key is found only by its whole scope: the same day in another region, or for
    /// another service, derives its own key, and each scope finds its own key again after.
    #[test]
    fn cache_finds_a_key_only_by_its_whole_scope() {
        let secret = Secret::new(SecretKey::new("s"));
        let scopes = [
            Scope {
                date: "20240101",
                region: "us-east-1",
                service: "s3",
            },
            Scope {
                date: "20240101",
                region: "eu-west-1",
                service: "s3",
            },
            Scope {
                date: "20240101",
                region: "us-east-1",
                service: "s3-object-lambda",
            },
        ];
        for _ in 0..2 {
            for scope in &scopes {
                let fresh = SigningKey::derive(&secret.key, scope).sign(b"x").to_hex();
                assert_eq!(
                    secret.signing_key(scope).sign(b"x").to_hex(),
                    fresh,
                    "{}/{}",
                    scope.region,
                    scope.service
                );
            }
        }
        // Three scopes, three slots: each was derived once, then found.
        let slots = secret.cache.borrow();
        assert_eq!(slots.iter().flatten().count(), 3);
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new(SecretKey::new("hunter2"));
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{:?}", SecretKey::new("hunter2")).contains("hunter2"));
        // Each says what it is, with its bytes masked.
        assert_eq!(format!("{secret:?}"), "Secret(*****)");
        assert_eq!(
            format!("{:?}", SecretKey::new("hunter2")),
            "SecretKey(*****)"
        );
        let key = SigningKey::derive(secret.key(), &scope("20240101"));
        assert_eq!(format!("{key:?}"), "SigningKey(*****)");
    }
}

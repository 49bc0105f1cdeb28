//! Signatures of aws-chunked bodies (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`): each
//! chunk's signature chains from the previous one, starting from the request's own (the seed);
//! a signed trailer chains from the last chunk's.

use super::amz_date::AmzDate;
use super::credential::Scope;
use super::signature::Signature;
use super::signing::{hex_sha256, SigningKey};

const CHUNK_ALGORITHM: &str = "AWS4-HMAC-SHA256-PAYLOAD";
const TRAILER_ALGORITHM: &str = "AWS4-HMAC-SHA256-TRAILER";
/// Chunk strings to sign carry the hash of an empty string where other data would be.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One signer's view of a chunk chain: its key, the request's date and scope, and the last
/// signature in the chain.
pub struct ChunkChain {
    key: SigningKey,
    /// `<amz date>\n<scope>\n`, the part every string to sign repeats.
    date_and_scope: String,
    previous: String,
}

impl ChunkChain {
    pub fn new(key: SigningKey, date: &AmzDate, scope: &Scope<'_>, seed: &Signature) -> Self {
        ChunkChain {
            key,
            date_and_scope: format!("{date}\n{scope}\n"),
            previous: seed.to_hex(),
        }
    }

    /// The signature of the next chunk, whose data hashes to `data_sha256_hex`; the chain
    /// moves on to it.
    pub fn next_chunk(&mut self, data_sha256_hex: &str) -> Signature {
        let sts = self.string_to_sign(CHUNK_ALGORITHM, &[EMPTY_SHA256, data_sha256_hex]);
        let signature = self.key.sign(sts.as_bytes());
        self.previous = signature.to_hex();
        signature
    }

    /// The signature of the trailer `canonical_trailers` (`name:value\n` lines).
    pub fn trailer(&self, canonical_trailers: &[u8]) -> Signature {
        let sts = self.string_to_sign(TRAILER_ALGORITHM, &[&hex_sha256(canonical_trailers)]);
        self.key.sign(sts.as_bytes())
    }

    pub fn string_to_sign(&self, algorithm: &str, hashes: &[&str]) -> String {
        let mut sts = String::with_capacity(256);
        sts.push_str(algorithm);
        sts.push('\n');
        sts.push_str(&self.date_and_scope);
        sts.push_str(&self.previous);
        for hash in hashes {
            sts.push('\n');
            sts.push_str(hash);
        }
        sts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::signing::SecretKey;

    fn chain(seed: &str) -> ChunkChain {
        let scope = Scope {
            date: "20130524",
            region: "us-east-1",
            service: "s3",
        };
        let key = SigningKey::derive(
            &SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            &scope,
        );
        let date = AmzDate::parse(b"20130524T000000Z").unwrap();
        ChunkChain::new(
            key,
            &date,
            &scope,
            &Signature::from_hex(seed.as_bytes()).unwrap(),
        )
    }

    #[test]
    fn the_documented_chain() {
        let mut c = chain("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
        let a64k = hex_sha256(&[b'a'; 65536]);
        assert_eq!(
            c.next_chunk(&a64k).to_hex(),
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        );
        assert_eq!(
            c.next_chunk(&hex_sha256(&[b'a'; 1024])).to_hex(),
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        );
        assert_eq!(
            c.next_chunk(EMPTY_SHA256).to_hex(),
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        );
    }

    #[test]
    fn the_documented_trailer() {
        let mut c = chain("106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
        c.next_chunk(&hex_sha256(&[b'a'; 65536]));
        c.next_chunk(&hex_sha256(&[b'a'; 1024]));
        assert_eq!(
            c.next_chunk(EMPTY_SHA256).to_hex(),
            "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
        );
        assert_eq!(
            c.trailer(b"x-amz-checksum-crc32c:sOO8/Q==\n").to_hex(),
            "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
        );
    }
}

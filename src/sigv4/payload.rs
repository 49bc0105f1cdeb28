//! `x-amz-content-sha256`: the payload hash the client signed, or the streaming mode it uses.
//! The value goes verbatim into the last line of the canonical request.

/// What the client's signature says about the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadHash<'a> {
    /// The hex SHA-256 of the whole body; the origin checks the body against it.
    Sha256(&'a str),
    /// `UNSIGNED-PAYLOAD`: the body is not covered.
    Unsigned,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked body, unsigned chunks, checksum
    /// trailer (checked by the origin).
    StreamingUnsignedTrailer,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: every chunk signed, chained from the seed.
    StreamingSigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and a signed trailer.
    StreamingSignedTrailer,
    /// `STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD[-TRAILER]`: SigV4A chunks.
    StreamingEcdsa,
}

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
const STREAMING_ECDSA: &str = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD";
const STREAMING_ECDSA_TRAILER: &str = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidPayloadHash;

impl<'a> PayloadHash<'a> {
    pub fn parse(value: &'a [u8]) -> Result<Self, InvalidPayloadHash> {
        let value = std::str::from_utf8(value).map_err(|_| InvalidPayloadHash)?;
        Ok(match value {
            UNSIGNED_PAYLOAD => PayloadHash::Unsigned,
            STREAMING_UNSIGNED_TRAILER => PayloadHash::StreamingUnsignedTrailer,
            STREAMING_SIGNED => PayloadHash::StreamingSigned,
            STREAMING_SIGNED_TRAILER => PayloadHash::StreamingSignedTrailer,
            STREAMING_ECDSA | STREAMING_ECDSA_TRAILER => PayloadHash::StreamingEcdsa,
            hex if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                PayloadHash::Sha256(hex)
            }
            _ => return Err(InvalidPayloadHash),
        })
    }

    /// The literal that closes the canonical request.
    pub fn as_str(&self) -> &'a str {
        match self {
            PayloadHash::Sha256(hex) => hex,
            PayloadHash::Unsigned => UNSIGNED_PAYLOAD,
            PayloadHash::StreamingUnsignedTrailer => STREAMING_UNSIGNED_TRAILER,
            PayloadHash::StreamingSigned => STREAMING_SIGNED,
            PayloadHash::StreamingSignedTrailer => STREAMING_SIGNED_TRAILER,
            PayloadHash::StreamingEcdsa => STREAMING_ECDSA,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_every_mode() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            PayloadHash::parse(empty.as_bytes()),
            Ok(PayloadHash::Sha256(empty))
        );
        for mode in [
            UNSIGNED_PAYLOAD,
            STREAMING_UNSIGNED_TRAILER,
            STREAMING_SIGNED,
            STREAMING_SIGNED_TRAILER,
            STREAMING_ECDSA,
        ] {
            assert_eq!(PayloadHash::parse(mode.as_bytes()).unwrap().as_str(), mode);
        }
        assert_eq!(
            PayloadHash::parse(STREAMING_ECDSA_TRAILER.as_bytes()),
            Ok(PayloadHash::StreamingEcdsa)
        );
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            &b""[..],
            b"unsigned-payload",
            b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            b"g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            b"\xff",
        ] {
            assert_eq!(PayloadHash::parse(bad), Err(InvalidPayloadHash));
        }
    }
}

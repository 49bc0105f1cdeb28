//! Re-signing a verified request for the origin: the same canonical request with the origin
//! host (and, when the origin takes another addressing style, the same bucket and key in its
//! path), signed with the origin key pair and region. Nothing the client did not sign is added.

use crate::addressing::OriginTarget;
use crate::config::{Config, CredentialPair};
use crate::request::Request;
use crate::sigv4::authorization;
use crate::sigv4::chunk_signing::ChunkChain;
use crate::sigv4::credential::{Credential, Scope};
use crate::sigv4::presigned::{X_AMZ_CREDENTIAL, X_AMZ_SIGNATURE};
use crate::sigv4::query::replace_values_into;
use crate::sigv4::signature::Signature;
use crate::sigv4::uri::canonical_path;
use crate::verify::{Verified, SERVICE};

/// A header-signed request, signed for the origin.
pub struct HeaderResigned {
    /// The new `Authorization` header.
    pub authorization: String,
    /// Its signature: the seed of the origin's chunk chain.
    pub signature: Signature,
}

pub fn header_auth(
    config: &Config,
    verified: &mut Verified<'_, '_>,
    origin: &OriginTarget<'_, '_>,
) -> HeaderResigned {
    restyle(verified, origin);
    verified.canonical.leave_out_consumed();
    verified.canonical.sign_host_for_http1();
    let date_stamp = verified.date.date_stamp();
    let credential = origin_credential(config, verified.pair, verified.region, &date_stamp);
    let signature = sign(verified, &credential, origin);
    HeaderResigned {
        authorization: authorization::format(
            &credential,
            verified.canonical.signed_headers(),
            &signature,
        ),
        signature,
    }
}

/// The chunk chains of a signed aws-chunked body: the client's, seeded with the signature it
/// sent (none where the filter holds no client secret: the edge verified the chunks), and the
/// origin's, seeded with the one the proxy sent in its place (none where the filter does not
/// sign: an edge filter passes the client's chunks on verified, for the origin filters).
pub fn chunk_chains(
    verified: &Verified<'_, '_>,
    client_seed: &Signature,
    origin: Option<(&Config, &Signature)>,
) -> (Option<ChunkChain>, Option<ChunkChain>) {
    let date_stamp = verified.date.date_stamp();
    let client_scope = Scope {
        date: &date_stamp,
        region: verified.region,
        service: SERVICE,
    };
    let client = verified.pair.client.secret.as_ref().map(|secret| {
        let key = secret.signing_key(&client_scope);
        ChunkChain::new(key, &verified.date, &client_scope, client_seed)
    });
    let origin = origin.map(|(config, seed)| {
        let credential = origin_credential(config, verified.pair, verified.region, &date_stamp);
        let key = verified.pair.origin().secret.signing_key(&credential.scope);
        ChunkChain::new(key, &verified.date, &credential.scope, seed)
    });
    (client, origin)
}

/// The new `:path` for a presigned URL: the same path (restyled for the origin) and query,
/// byte for byte, except the values of `X-Amz-Credential` and `X-Amz-Signature`.
/// `X-Amz-Date`, `X-Amz-Expires` and `X-Amz-SignedHeaders` are kept, so the origin enforces the
/// expiry the client was given.
pub fn presigned(
    config: &Config,
    verified: &mut Verified<'_, '_>,
    origin: &OriginTarget<'_, '_>,
    req: &Request<'_>,
) -> Vec<u8> {
    restyle(verified, origin);
    let date_stamp = verified.date.date_stamp();
    let credential = origin_credential(config, verified.pair, verified.region, &date_stamp);
    // Encoded once: the canonical form of the value and what the query carries are the same.
    let encoded_credential = credential.encoded();
    // The verified canonical query, with the origin's credential in place of the client's.
    let hash = verified.canonical.hash_with_query_value(
        origin.authority.as_bytes(),
        X_AMZ_CREDENTIAL,
        &encoded_credential,
    );
    let signature = sign_hash(verified, &credential, &hash).hex();
    let (raw_path, raw_query) = (origin.raw_path.as_ref(), req.raw_query());
    let mut path = Vec::with_capacity(raw_path.len() + 1 + raw_query.len() + 32);
    path.extend_from_slice(raw_path);
    path.push(b'?');
    replace_values_into(&mut path, raw_query, req.params(), |name| match name {
        X_AMZ_CREDENTIAL => Some(encoded_credential.as_bytes()),
        X_AMZ_SIGNATURE => Some(signature.as_bytes()),
        _ => None,
    });
    path
}

fn origin_credential<'a>(
    config: &'a Config,
    pair: &'a CredentialPair,
    client_region: &'a str,
    date_stamp: &'a str,
) -> Credential<'a> {
    Credential {
        access_key_id: &pair.origin().access_key_id,
        scope: Scope {
            date: date_stamp,
            region: config.origin_region.as_deref().unwrap_or(client_region),
            service: SERVICE,
        },
    }
}

/// The canonical URI of the origin's path, when the origin addresses the bucket differently.
fn restyle(verified: &mut Verified<'_, '_>, origin: &OriginTarget<'_, '_>) {
    if origin.restyled {
        verified.canonical.set_uri(canonical_path(&origin.raw_path));
    }
}

fn sign(
    verified: &mut Verified<'_, '_>,
    credential: &Credential<'_>,
    origin: &OriginTarget<'_, '_>,
) -> Signature {
    let hash = verified.canonical.hash(origin.authority.as_bytes());
    sign_hash(verified, credential, &hash)
}

fn sign_hash(
    verified: &Verified<'_, '_>,
    credential: &Credential<'_>,
    hash: &[u8; 32],
) -> Signature {
    verified
        .pair
        .origin()
        .secret
        .signing_key(&credential.scope)
        .sign_request(&verified.date, &credential.scope, hash)
}

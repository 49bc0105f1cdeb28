//! The whole decision on a structured request (`arbitrary`): method, host, path bytes, query
//! parameters and headers (known names or any bytes, repeats allowed), the clock, and an
//! authentication the target computes itself — SigV4 header (with any payload mode, signed
//! aws-chunked bodies built chunk by chunk), SigV4 presigned, SigV2 header or presigned, or
//! none — with the crate's own signing functions, so that most inputs verify and reach
//! re-signing and the checks after it. An optional corruption then flips one byte of the head
//! or body. The invariants are those of `decide_everything`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use s3_resign::sigv4::amz_date::AmzDate;
use s3_resign_fuzz::sign::{self, Pairs};
use s3_resign_fuzz::*;

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Put,
    Head,
    Delete,
    Post,
    Options,
    Other(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Host {
    Public,
    Localhost,
    WithPort(u16),
    Virtual(Vec<u8>),
    Other(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Name {
    ContentType,
    ContentMd5,
    ContentLength,
    Range,
    XAmzMeta(u8),
    XAmzAcl,
    XAmzCopySource,
    XAmzSecurityToken,
    XAmzChecksumCrc32,
    XAmzChecksumSha512,
    XAmzChecksumMd5,
    XAmzDate,
    XAmzContentSha256,
    XAmzDecodedContentLength,
    XAmzTrailer,
    XMinioForceDelete,
    XAmzUnderscore,
    Date,
    Expect,
    Origin,
    AccessControlRequestMethod,
    Authorization,
    UserAgent,
    Other(Vec<u8>),
}

impl Name {
    fn bytes(&self) -> Vec<u8> {
        let known: &str = match self {
            Name::ContentType => "content-type",
            Name::ContentMd5 => "content-md5",
            Name::ContentLength => "content-length",
            Name::Range => "range",
            Name::XAmzMeta(n) => return format!("x-amz-meta-{}", n % 4).into_bytes(),
            Name::XAmzAcl => "x-amz-acl",
            Name::XAmzCopySource => "x-amz-copy-source",
            Name::XAmzSecurityToken => "x-amz-security-token",
            Name::XAmzChecksumCrc32 => "x-amz-checksum-crc32",
            Name::XAmzChecksumSha512 => "x-amz-checksum-sha512",
            Name::XAmzChecksumMd5 => "x-amz-checksum-md5",
            Name::XAmzDate => "x-amz-date",
            Name::XAmzContentSha256 => "x-amz-content-sha256",
            Name::XAmzDecodedContentLength => "x-amz-decoded-content-length",
            Name::XAmzTrailer => "x-amz-trailer",
            Name::XMinioForceDelete => "x-minio-force-delete",
            Name::XAmzUnderscore => "x_amz_acl",
            Name::Date => "date",
            Name::Expect => "expect",
            Name::Origin => "origin",
            Name::AccessControlRequestMethod => "access-control-request-method",
            Name::Authorization => "authorization",
            Name::UserAgent => "user-agent",
            Name::Other(bytes) => return bytes.to_ascii_lowercase(),
        };
        known.as_bytes().to_vec()
    }
}

#[derive(Arbitrary, Debug)]
enum Param {
    Acl,
    Uploads,
    UploadId,
    PartNumber,
    Tagging,
    Prefix,
    ListType,
    XId,
    ResponseContentType,
    Retention,
    XAmzAlgorithm,
    XAmzCredential,
    XAmzDate,
    XAmzExpires,
    XAmzSignedHeaders,
    XAmzSignature,
    AwsAccessKeyId,
    Expires,
    Signature,
    Session,
    Metrics,
    Attributes,
    VersionId,
    CopySourceRange,
    Other(Vec<u8>),
}

impl Param {
    fn bytes(&self) -> Vec<u8> {
        let known: &str = match self {
            Param::Acl => "acl",
            Param::Uploads => "uploads",
            Param::UploadId => "uploadId",
            Param::PartNumber => "partNumber",
            Param::Tagging => "tagging",
            Param::Prefix => "prefix",
            Param::ListType => "list-type",
            Param::XId => "x-id",
            Param::ResponseContentType => "response-content-type",
            Param::Retention => "retention",
            Param::XAmzAlgorithm => "X-Amz-Algorithm",
            Param::XAmzCredential => "X-Amz-Credential",
            Param::XAmzDate => "X-Amz-Date",
            Param::XAmzExpires => "X-Amz-Expires",
            Param::XAmzSignedHeaders => "X-Amz-SignedHeaders",
            Param::XAmzSignature => "X-Amz-Signature",
            Param::AwsAccessKeyId => "AWSAccessKeyId",
            Param::Expires => "Expires",
            Param::Signature => "Signature",
            Param::Session => "session",
            Param::Metrics => "metrics",
            Param::Attributes => "attributes",
            Param::VersionId => "versionId",
            Param::CopySourceRange => "x-amz-copy-source-range",
            Param::Other(bytes) => return bytes.clone(),
        };
        known.as_bytes().to_vec()
    }
}

#[derive(Arbitrary, Debug)]
enum Key {
    Client,
    Other,
    Unknown,
}

impl Key {
    fn pair(&self) -> (&'static str, &'static str) {
        match self {
            Key::Client => (CLIENT_KEY, CLIENT_SECRET),
            Key::Other => (OTHER_KEY, OTHER_SECRET),
            Key::Unknown => ("NOSUCHKEY", "whatever"),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Payload {
    EmptySha256,
    Unsigned,
    UnsignedTrailer,
    Streaming { chunks: Vec<Vec<u8>>, trailer: bool },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Auth {
    None,
    HeaderV4 {
        key: Key,
        region: bool,
        /// Which of the request's headers are signed besides host, date and payload hash.
        signed: u32,
        payload: Payload,
        date_offset: i16,
    },
    PresignedV4 {
        key: Key,
        signed: u32,
        expires: u32,
        date_offset: i16,
    },
    HeaderV2 {
        key: Key,
        amz_date: bool,
        date_offset: i16,
    },
    PresignedV2 {
        key: Key,
        expires_offset: i32,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    selector: u8,
    method: Method,
    host: Host,
    path: Vec<u8>,
    query: Vec<(Param, Option<Vec<u8>>)>,
    headers: Vec<(Name, Vec<u8>)>,
    auth: Auth,
    clock_offset: i32,
    /// Flips one byte: (which pair, or the body; position; xor).
    corrupt: Option<(u8, u16, u8)>,
}

fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
}

/// `host` plus the request's header names that `mask` picks (valid tokens, not
/// `authorization`), sorted and distinct, plus `always`.
fn signed_list(pairs: &Pairs, mask: u32, always: &[&str]) -> String {
    let mut names: Vec<String> = vec!["host".into()];
    names.extend(always.iter().map(|s| s.to_string()));
    for (i, (name, _)) in pairs.iter().skip(3).enumerate() {
        if mask & (1 << (i % 32)) != 0 && is_token(name) && name != b"authorization" {
            names.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    names.sort();
    names.dedup();
    names.join(";")
}

fuzz_target!(|input: Input| {
    let now = NOW.saturating_add_signed(i64::from(input.clock_offset % 2_000_000));
    let method = match &input.method {
        Method::Get => b"GET".to_vec(),
        Method::Put => b"PUT".to_vec(),
        Method::Head => b"HEAD".to_vec(),
        Method::Delete => b"DELETE".to_vec(),
        Method::Post => b"POST".to_vec(),
        Method::Options => b"OPTIONS".to_vec(),
        Method::Other(m) => m.clone(),
    };
    let authority = match &input.host {
        Host::Public => PUBLIC.as_bytes().to_vec(),
        Host::Localhost => b"localhost:10000".to_vec(),
        Host::WithPort(port) => format!("{PUBLIC}:{port}").into_bytes(),
        Host::Virtual(bucket) => [bucket.as_slice(), b".", PUBLIC.as_bytes()].concat(),
        Host::Other(host) => host.clone(),
    };
    let mut path = input.path.clone();
    if path.first() != Some(&b'/') {
        path.insert(0, b'/');
    }
    let mut query: Vec<u8> = Vec::new();
    for (name, value) in &input.query {
        if !query.is_empty() {
            query.push(b'&');
        }
        query.extend_from_slice(&name.bytes());
        if let Some(value) = value {
            query.push(b'=');
            query.extend_from_slice(value);
        }
    }
    let mut pairs: Pairs = vec![
        (b":method".to_vec(), method),
        (b":path".to_vec(), Vec::new()),
        (b":authority".to_vec(), authority),
    ];
    for (name, value) in &input.headers {
        pairs.push((name.bytes(), value.clone()));
    }
    let set_path = |pairs: &mut Pairs, query: &[u8]| {
        let mut target = path.clone();
        if !query.is_empty() {
            target.push(b'?');
            target.extend_from_slice(query);
        }
        pairs[1].1 = target;
    };
    set_path(&mut pairs, &query);
    let g = gateways();
    let mut body = Vec::new();
    match &input.auth {
        Auth::None => {}
        Auth::HeaderV4 {
            key,
            region,
            signed,
            payload,
            date_offset,
        } => {
            let (id, secret) = key.pair();
            let region = if *region { "us-east-1" } else { "eu-west-3" };
            let date =
                AmzDate::from_unix_seconds(now.saturating_add_signed(i64::from(*date_offset)));
            let hash: Vec<u8> = match payload {
                Payload::EmptySha256 => {
                    b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_vec()
                }
                Payload::Unsigned => b"UNSIGNED-PAYLOAD".to_vec(),
                Payload::UnsignedTrailer => b"STREAMING-UNSIGNED-PAYLOAD-TRAILER".to_vec(),
                Payload::Streaming { chunks, trailer } => {
                    let total: usize = chunks.iter().map(Vec::len).sum();
                    pairs.push((b"content-encoding".to_vec(), b"aws-chunked".to_vec()));
                    pairs.push((
                        b"x-amz-decoded-content-length".to_vec(),
                        total.to_string().into_bytes(),
                    ));
                    if *trailer {
                        pairs.push((b"x-amz-trailer".to_vec(), b"x-amz-checksum-crc32".to_vec()));
                        b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER".to_vec()
                    } else {
                        b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_vec()
                    }
                }
                Payload::Raw(raw) => raw.clone(),
            };
            pairs.push((b"x-amz-date".to_vec(), date.to_string().into_bytes()));
            pairs.push((b"x-amz-content-sha256".to_vec(), hash.clone()));
            let list = signed_list(&pairs, *signed, &["x-amz-content-sha256", "x-amz-date"]);
            let payload_text = String::from_utf8_lossy(&hash).into_owned();
            let Some(signature) =
                sign::v4_signature(&pairs, secret, region, &date, &list, &payload_text)
            else {
                return;
            };
            pairs.push((
                b"authorization".to_vec(),
                format!(
                    "AWS4-HMAC-SHA256 Credential={id}/{}/{region}/s3/aws4_request, SignedHeaders={list}, Signature={}",
                    date.date_stamp(),
                    signature.to_hex()
                )
                .into_bytes(),
            ));
            if let Payload::Streaming { chunks, trailer } = payload {
                let mut chain = sign::chain(secret, region, &date, &signature);
                for data in chunks.iter().filter(|c| !c.is_empty()).chain([&Vec::new()]) {
                    let sha = s3_resign::sigv4::signing::hex_sha256(data);
                    let sig = chain.next_chunk(&sha).to_hex();
                    body.extend_from_slice(
                        format!("{:x};chunk-signature={sig}\r\n", data.len()).as_bytes(),
                    );
                    if !data.is_empty() {
                        body.extend_from_slice(data);
                        body.extend_from_slice(b"\r\n");
                    }
                }
                if *trailer {
                    let line = b"x-amz-checksum-crc32:AAAAAA==";
                    let sig = chain.trailer(&[&line[..], b"\n"].concat()).to_hex();
                    body.extend_from_slice(line);
                    body.extend_from_slice(
                        format!("\r\nx-amz-trailer-signature:{sig}\r\n\r\n").as_bytes(),
                    );
                } else {
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        Auth::PresignedV4 {
            key,
            signed,
            expires,
            date_offset,
        } => {
            let (id, secret) = key.pair();
            let date =
                AmzDate::from_unix_seconds(now.saturating_add_signed(i64::from(*date_offset)));
            let list = signed_list(&pairs, *signed, &[]);
            let mut q = query.clone();
            if !q.is_empty() {
                q.push(b'&');
            }
            q.extend_from_slice(
                format!(
                    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={date}&X-Amz-Expires={}&X-Amz-SignedHeaders={}",
                    sign::encode(format!("{id}/{}/us-east-1/s3/aws4_request", date.date_stamp()).as_bytes()),
                    expires % 700_000,
                    sign::encode(list.as_bytes()),
                )
                .as_bytes(),
            );
            set_path(&mut pairs, &q);
            let Some(signature) = sign::v4_signature(
                &pairs,
                secret,
                "us-east-1",
                &date,
                &list,
                "UNSIGNED-PAYLOAD",
            ) else {
                return;
            };
            q.extend_from_slice(format!("&X-Amz-Signature={}", signature.to_hex()).as_bytes());
            set_path(&mut pairs, &q);
        }
        Auth::HeaderV2 {
            key,
            amz_date,
            date_offset,
        } => {
            let (id, secret) = key.pair();
            let http_date = http_date(now.saturating_add_signed(i64::from(*date_offset)));
            let date_line = if *amz_date {
                pairs.push((b"x-amz-date".to_vec(), http_date.into_bytes()));
                Vec::new()
            } else {
                pairs.push((b"date".to_vec(), http_date.clone().into_bytes()));
                http_date.into_bytes()
            };
            let Some(signature) = sign::v2_signature(&g.filters[0], &pairs, secret, &date_line)
            else {
                return;
            };
            pairs.push((
                b"authorization".to_vec(),
                format!("AWS {id}:{signature}").into_bytes(),
            ));
        }
        Auth::PresignedV2 {
            key,
            expires_offset,
        } => {
            let (id, secret) = key.pair();
            let expires = now
                .saturating_add_signed(i64::from(*expires_offset))
                .to_string();
            let Some(signature) =
                sign::v2_signature(&g.filters[0], &pairs, secret, expires.as_bytes())
            else {
                return;
            };
            let mut q = query.clone();
            if !q.is_empty() {
                q.push(b'&');
            }
            q.extend_from_slice(
                format!(
                    "AWSAccessKeyId={id}&Expires={expires}&Signature={}",
                    sign::encode(signature.as_bytes())
                )
                .as_bytes(),
            );
            set_path(&mut pairs, &q);
        }
    }
    if let Some((which, at, xor)) = input.corrupt {
        let target = match usize::from(which) % (pairs.len() + 1) {
            i if i == pairs.len() => &mut body,
            i => &mut pairs[i].1,
        };
        if !target.is_empty() {
            let at = usize::from(at) % target.len();
            target[at] ^= xor.max(1);
        }
    }
    decide_everything(input.selector, &pairs, now, &body);
});

//! A differential of the SigV4 core against an independent signer, the AWS SDK for Rust's
//! `aws-sigv4` (`s3_resign_fuzz::oracle`), on structured requests: a method, a path of any
//! bytes encoded as clients encode it, query parameters of any text (empty, bare, repeated),
//! headers of any value (inner runs of white space, repeats), a date, a region, an expiry,
//! signed in the header or as a presigned URL. For each:
//!
//! 1. what `aws-sigv4` signed for the public host with the client's key is forwarded by the
//!    gateway (`Gateway::decide`, the filter's entry point), unless refused for a documented
//!    reason (`documented_refusal`);
//! 2. what the gateway forwards is what `aws-sigv4` signs for the origin host with the origin
//!    key over the forwarded request (the same `Authorization`, or the same `X-Amz-*`);
//! 3. the canonical requests of both, client's and origin's, agree byte for byte.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use s3_resign::body_checks::digest_required;
use s3_resign::gateway::{Decision, Gateway};
use s3_resign::rejection::Rejection;
use s3_resign::request::Request;
use s3_resign::s3_error::{S3ErrorCode, S3_METHODS};
use s3_resign::sigv4::query::as_origins_read;
use s3_resign::sigv4::uri::{decode_query_component, is_canonical_query_component};
use s3_resign_fuzz::oracle::{
    filter_canonical, gateway, sign_with_aws_sigv4, uri_encode, with_params, Oracle, Payload,
    Signed, CLIENT, ORIGIN, ORIGIN_PAIR,
};
use s3_resign_fuzz::{forwarded_pairs, NOW, PUBLIC};

const ORIGIN_REGION: &str = "eu-central-1";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Put,
    Head,
    Delete,
    Post,
    /// Upper-case letters, as any extension method (S3 has none: refused).
    Other(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Name {
    Meta(u8),
    Custom(u8),
    ContentType,
    CacheControl,
    ContentDisposition,
    ContentLanguage,
    Range,
    IfMatch,
    XAmzAcl,
    XAmzTagging,
    XAmzStorageClass,
    /// `0`, `1` or `17` (its drawn value is not used): a request that announces its body, or
    /// that it has none, as the filter's bodiless pass reads it.
    ContentLength(u8),
    /// Token characters after `x-o`, so never one `aws-sigv4` sets or leaves out.
    Other(Vec<u8>),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Meta(n) => format!("x-amz-meta-{}", n % 4),
            Name::Custom(n) => format!("x-custom-{}", n % 4),
            Name::ContentType => "content-type".into(),
            Name::CacheControl => "cache-control".into(),
            Name::ContentDisposition => "content-disposition".into(),
            Name::ContentLanguage => "content-language".into(),
            Name::Range => "range".into(),
            Name::IfMatch => "if-match".into(),
            Name::XAmzAcl => "x-amz-acl".into(),
            Name::XAmzTagging => "x-amz-tagging".into(),
            Name::XAmzStorageClass => "x-amz-storage-class".into(),
            Name::ContentLength(_) => "content-length".into(),
            Name::Other(bytes) => {
                let token: String = bytes
                    .iter()
                    .map(|b| b.to_ascii_lowercase())
                    .filter(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || b"-_.!#$%&'*+^`|~".contains(b)
                    })
                    .map(char::from)
                    .collect();
                format!("x-o{token}")
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum PayloadHash {
    Unsigned,
    Empty,
    Of(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: Method,
    /// Which bucket, or none (the service).
    bucket: u8,
    key: Vec<u8>,
    query: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    headers: Vec<(Name, Vec<u8>)>,
    presigned: bool,
    payload: PayloadHash,
    /// Seconds after `NOW` the request is signed.
    date: u32,
    region: Vec<u8>,
    expires: u32,
    /// Seconds after the date the filter sees it.
    elapsed: u16,
    /// The origin region: the client's, or another.
    other_origin_region: bool,
}

thread_local! {
    static GATEWAYS: [Gateway; 2] = [gateway(PUBLIC, None), gateway(PUBLIC, Some(ORIGIN_REGION))];
}

/// Query text: `aws-sigv4` decodes the query as UTF-8 (`form_urlencoded`), replacing what is
/// not, so the target gives it UTF-8 only (the filter, like S3, signs the bytes).
fn query_text(bytes: &[u8]) -> String {
    uri_encode(String::from_utf8_lossy(bytes).as_bytes(), false)
}

/// A header value as `http` takes it: UTF-8 without control characters but tab. A tab inside
/// becomes a space: SigV4 folds "sequential spaces", which botocore reads as any white space
/// and `aws-sigv4` (like the Go SDK) as spaces only; the filter folds tabs as botocore does, so
/// the two agree only on values without one (a tab at either end goes in transit).
fn header_value(bytes: &[u8]) -> String {
    let value: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|&c| c == '\t' || (c >= ' ' && c != '\u{7f}'))
        .collect();
    if value.trim_matches([' ', '\t']).contains('\t') {
        return value.replace('\t', " ");
    }
    value
}

fn pairs(method: &str, target: &str, headers: &[(String, String)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pairs = vec![
        (b":method".to_vec(), method.as_bytes().to_vec()),
        (b":path".to_vec(), target.as_bytes().to_vec()),
        (b":authority".to_vec(), PUBLIC.as_bytes().to_vec()),
    ];
    for (n, v) in headers {
        pairs.push((n.as_bytes().to_vec(), v.as_bytes().to_vec()));
    }
    pairs
}

/// A refusal the filter makes on purpose, for a reason documented in README.md ("Requests
/// always refused", the key shapes and repeats of SECURITY.md) that this request has.
fn documented_refusal(
    rejection: &Rejection,
    method: &str,
    service: bool,
    key: &str,
    query: &[(String, Option<String>)],
    headers: &[(String, String)],
) -> bool {
    let message = &rejection.error.message;
    let names: Vec<String> = query
        .iter()
        .map(|(n, _)| {
            String::from_utf8_lossy(&decode_query_component(n.as_bytes())).to_ascii_lowercase()
        })
        .collect();
    // Each reading's parameters, names decoded in their case and raw values, as the filter
    // reads ids and versions.
    let exact_pairs: Vec<(String, String)> = query
        .iter()
        .flat_map(|(n, v)| {
            let text = match v {
                Some(v) => format!("{n}={v}"),
                None => n.clone(),
            };
            let split = text.split(';').map(str::to_owned).collect::<Vec<_>>();
            std::iter::once(text).chain(split).collect::<Vec<_>>()
        })
        .map(|segment| {
            let (name, value) = segment.split_once('=').unwrap_or((&segment, ""));
            let decoded = decode_query_component(name.as_bytes());
            let name = String::from_utf8_lossy(&decoded);
            (name.trim_start_matches('?').to_owned(), value.to_owned())
        })
        .collect();
    let exact_named = |wanted: &[&str]| {
        exact_pairs
            .iter()
            .any(|(n, _)| wanted.contains(&n.as_str()))
    };
    let repeated_header = headers
        .iter()
        .enumerate()
        .any(|(i, (n, _))| headers[..i].iter().any(|(m, _)| m == n));
    // Names are encoded canonically here, so names equal as sent are equal decoded; one
    // without a name names nothing.
    let repeated_param = query
        .iter()
        .enumerate()
        .any(|(i, (n, _))| !n.is_empty() && query[..i].iter().any(|(m, _)| m == n));
    match rejection.error.code {
        // S3 serves GET of the service alone (its 405 names it in `Allow`).
        S3ErrorCode::MethodNotAllowed => {
            !S3_METHODS.contains(&method)
                || (service
                    && matches!(method, "PUT" | "DELETE")
                    && rejection.error.allow() == Some("GET"))
        }
        S3ErrorCode::InvalidArgument if message.starts_with("The query parameter") => {
            message.contains("more than once") && repeated_param
        }
        S3ErrorCode::InvalidArgument if message.contains("more than once") => repeated_header,
        S3ErrorCode::InvalidArgument if message.contains("begin with '/'") => key.starts_with('/'),
        // No header name holds `_` but a metadata key's (README, *Envoy configuration*).
        S3ErrorCode::InvalidArgument if message.contains("fold '_' into '-'") => headers
            .iter()
            .any(|(n, _)| n.contains('_') && !n.to_ascii_lowercase().starts_with("x-amz-meta-")),
        S3ErrorCode::AuthorizationQueryParametersError => names.iter().any(|n| {
            n.contains("signature")
                || n.starts_with("x-amz-")
                || n == "awsaccesskeyid"
                || n == "expires"
                || n.contains(';')
        }),
        // Uploads, parts and versions as S3 takes them (README, "Requests always refused"): a
        // version on a write is refused unless the write is one S3 versions, named exactly
        // and bare, with no copy source and no multipart parameter.
        S3ErrorCode::InvalidArgument if message.contains("does not accept a version-id") => {
            let named = |write: &str| {
                let mut copies = query
                    .iter()
                    .filter(|(n, _)| *decode_query_component(n.as_bytes()) == *write.as_bytes())
                    .peekable();
                copies.peek().is_some()
                    && copies.all(|(_, v)| v.as_deref().is_none_or(str::is_empty))
            };
            let versioned = match method {
                "PUT" => ["acl", "encryption", "legal-hold", "retention", "tagging"]
                    .into_iter()
                    .any(named),
                "POST" => named("restore"),
                _ => false,
            };
            let multipart = exact_named(&["uploads", "uploadId", "partNumber"]);
            let copies = headers.iter().any(|(n, _)| n == "x-amz-copy-source");
            matches!(method, "PUT" | "POST")
                && exact_named(&["versionId"])
                && (!versioned || multipart || copies)
        }
        S3ErrorCode::InvalidArgument if message.contains("Version id cannot be the empty") => {
            exact_named(&["versionId"])
        }
        S3ErrorCode::InvalidArgument if message.contains("may hold no control character") => {
            exact_pairs.iter().any(|(n, v)| {
                matches!(n.as_str(), "uploadId" | "versionId")
                    && decode_query_component(v.as_bytes())
                        .iter()
                        .any(u8::is_ascii_control)
            })
        }
        S3ErrorCode::InvalidArgument if message.contains("uploadId cannot be the empty") => {
            exact_named(&["uploadId"])
        }
        S3ErrorCode::InvalidArgument if message.contains("Part number must be") => {
            exact_named(&["partNumber"])
        }
        // A form in a signed POST, its type read as Go lower-cases it (`İ` an `i`). (The
        // requests drawn here always have a body: no `content-length`, not ending at the head.)
        S3ErrorCode::InvalidArgument if message.contains("A browser upload") => {
            method == "POST"
                && headers.iter().any(|(n, v)| {
                    n == "content-type"
                        && v.replace('\u{130}', "i")
                            .to_ascii_lowercase()
                            .contains("multipart/form-data")
                })
        }
        S3ErrorCode::InvalidArgument if message.contains("Action") => {
            names.iter().any(|n| n == "action")
        }
        S3ErrorCode::InvalidRequest if message.contains("HEAD serves") => method == "HEAD",
        // The documents S3 requires a digest on (SECURITY.md, class 5c), named in the query.
        S3ErrorCode::InvalidRequest if message.contains("Content-MD5 or x-amz-checksum-*") => {
            names.iter().flat_map(|n| n.split(';')).any(|n| {
                digest_required(method.as_bytes(), as_origins_read(n.as_bytes())).is_some()
            }) && !headers
                .iter()
                .any(|(n, _)| n == "content-md5" || n.starts_with("x-amz-checksum-"))
        }
        S3ErrorCode::InvalidRequest => method == "POST",
        S3ErrorCode::InvalidArgument if message.contains("copy source") => {
            headers.iter().any(|(n, _)| n == "x-amz-copy-source")
        }
        S3ErrorCode::InvalidArgument if message.contains("canonical form") => {
            query.iter().any(|(n, _)| {
                !is_canonical_query_component(n.as_bytes())
                    || n.to_ascii_uppercase().contains("%3D")
            })
        }
        S3ErrorCode::InvalidURI => {
            stray_percent(key)
                || (message.contains("NUL") && key.contains("%00"))
                || query
                    .iter()
                    .any(|(_, v)| v.as_deref().is_some_and(stray_percent))
        }
        _ => false,
    }
}

/// A `%` that begins no escape.
fn stray_percent(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

fuzz_target!(|input: Input| {
    let method = match &input.method {
        Method::Get => "GET".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Other(bytes) => {
            let m: String = bytes
                .iter()
                .filter(|b| b.is_ascii_alphabetic())
                .map(|b| b.to_ascii_uppercase() as char)
                .take(12)
                .collect();
            if m.is_empty() {
                return;
            }
            m
        }
    };
    let key = uri_encode(&input.key, true);
    let path = match input.bucket % 4 {
        0 => "/".to_owned(),
        1 => format!("/bucket/{key}"),
        2 => format!("/my-bucket-1/{key}"),
        _ => format!("/dotted.bucket/{key}"),
    };
    let mut query: Vec<(String, Option<String>)> = input
        .query
        .iter()
        .map(|(n, v)| (query_text(n), v.as_deref().map(query_text)))
        .collect();
    // A POST names its S3 operation in the query; the filter refuses one that does not.
    if method == "POST" && query.is_empty() {
        query.push(("uploads".to_owned(), None));
    }
    let mut target = path.clone();
    for (i, (n, v)) in query.iter().enumerate() {
        target.push(if i == 0 { '?' } else { '&' });
        target.push_str(n);
        if let Some(v) = v {
            target.push('=');
            target.push_str(v);
        }
    }
    // What the client signs, and what Envoy hands the filter: the value without white space
    // at either end (HTTP's optional white space), inner runs kept. `aws-sigv4` trims only
    // spaces, so a value with a tab at an end is given to it as it arrives.
    let mut signed_headers = Vec::new();
    let mut received_headers = Vec::new();
    for (name, value) in &input.headers {
        let value = match name {
            // One length, a number: Envoy refuses any other before a filter sees it.
            Name::ContentLength(_)
                if received_headers.iter().any(|(n, _)| n == "content-length") =>
            {
                continue
            }
            Name::ContentLength(n) => ["0", "1", "17"][usize::from(n % 3)].to_owned(),
            _ => header_value(value),
        };
        let arrives = value.trim_matches([' ', '\t']).to_owned();
        let signed = if value.trim_matches(' ') == arrives {
            value
        } else {
            arrives.clone()
        };
        signed_headers.push((name.text(), signed));
        received_headers.push((name.text(), arrives));
    }
    // Any region a credential can carry: printable ASCII but its separators (origins take
    // free text: Garage's, Ceph's zonegroups, `dc1:zone`).
    let region: String = input
        .region
        .iter()
        .filter(|b| b.is_ascii_graphic() && !b"/,=".contains(b))
        .map(|&b| char::from(b))
        .take(20)
        .collect();
    let region = if region.is_empty() {
        "us-east-1".to_owned()
    } else {
        region
    };
    let date = NOW + u64::from(input.date % 400_000_000);
    let expires = 1 + u64::from(input.expires % 604_800);
    let now = date + u64::from(input.elapsed) % expires.min(900);
    let payload_hash = match &input.payload {
        PayloadHash::Unsigned => "UNSIGNED-PAYLOAD".to_owned(),
        PayloadHash::Empty => EMPTY_SHA256.to_owned(),
        PayloadHash::Of(data) => s3_resign::sigv4::signing::hex_sha256(data),
    };
    let payload = if input.presigned {
        Payload::Presigned(expires)
    } else {
        Payload::Header(&payload_hash)
    };
    let Some(client) = sign_with_aws_sigv4(&Oracle {
        method: &method,
        host: PUBLIC,
        target: &target,
        headers: &signed_headers,
        key: CLIENT,
        region: &region,
        time: date,
        payload,
    }) else {
        return;
    };

    // The request as it reaches the filter.
    let (sent_target, mut sent_headers) = if input.presigned {
        (
            with_params(&target, &client.params),
            received_headers.clone(),
        )
    } else {
        let mut headers = received_headers.clone();
        headers.extend(client.headers.iter().cloned());
        (target.clone(), headers)
    };
    for (name, _) in sent_headers.iter_mut() {
        name.make_ascii_lowercase();
    }
    let sent = pairs(&method, &sent_target, &sent_headers);
    let req = Request::from_pairs(&sent).expect("a whole head");

    // 3, client side: the canonical request the filter verifies is the one aws-sigv4 signed.
    let signed_list = signed_list_of(&client);
    let client_payload = if input.presigned {
        "UNSIGNED-PAYLOAD"
    } else {
        &payload_hash
    };
    if let Some(ours) = filter_canonical(&req, &signed_list, client_payload, input.presigned) {
        assert_eq!(
            ours, client.canonical,
            "the canonical requests differ (filter, then aws-sigv4)"
        );
    }

    GATEWAYS.with(|gateways| {
        let gateway = &gateways[usize::from(input.other_origin_region)];
        // 1: what aws-sigv4 signed verifies.
        let forward = match gateway.decide(&req, now) {
            Decision::Forward(f) => {
                trace(|| format!("forwarded {:?}", f.kind));
                f
            }
            Decision::Reject(r) => {
                trace(|| format!("refused {:?} {}", r.error.code, r.error.message));
                assert!(
                    documented_refusal(&r, &method, path == "/", &key, &query, &received_headers),
                    "refused a request aws-sigv4 signed: {:?} {}\n{:?}\n{sent:?}",
                    r.error.code,
                    r.error.message,
                    r.detail
                );
                return;
            }
        };
        let forwarded = forwarded_pairs(&req, &forward);
        let text = |name: &[u8]| {
            forwarded
                .iter()
                .find(|(n, _)| n.as_slice() == name)
                .map(|(_, v)| String::from_utf8(v.clone()).expect("forwarded as text"))
        };
        let origin_target = text(b":path").unwrap();
        let origin_host = text(b":authority").unwrap();
        assert_eq!(origin_host, ORIGIN);
        let origin_region = if input.other_origin_region {
            ORIGIN_REGION
        } else {
            &region
        };

        // 2: the forwarded request is what aws-sigv4 signs for the origin.
        let auth_headers = ["authorization", "x-amz-date", "x-amz-content-sha256"];
        let origin_headers: Vec<(String, String)> = forwarded
            .iter()
            .filter(|(n, _)| !n.starts_with(b":"))
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .filter(|(n, _)| input.presigned || !auth_headers.contains(&n.as_str()))
            .collect();
        let (unsigned_target, origin_payload) = if input.presigned {
            (
                without_presigned_params(&origin_target),
                Payload::Presigned(expires),
            )
        } else {
            (origin_target.clone(), Payload::Header(&payload_hash))
        };
        let origin = sign_with_aws_sigv4(&Oracle {
            method: &method,
            host: ORIGIN,
            target: &unsigned_target,
            headers: &origin_headers,
            key: ORIGIN_PAIR,
            region: origin_region,
            time: date,
            payload: origin_payload,
        })
        .expect("aws-sigv4 signs the forwarded request");
        if input.presigned {
            assert_eq!(
                origin_target,
                with_params(&unsigned_target, &origin.params),
                "the re-signed URL is not aws-sigv4's for the origin"
            );
        } else {
            for name in auth_headers {
                assert_eq!(
                    text(name.as_bytes()).as_deref(),
                    origin.header(name),
                    "the re-signed {name} is not aws-sigv4's for the origin"
                );
            }
        }

        // 3, origin side.
        let origin_req = Request::from_pairs(&forwarded).expect("a whole head");
        let ours = filter_canonical(
            &origin_req,
            &signed_list_of(&origin),
            client_payload,
            input.presigned,
        )
        .expect("the forwarded request has its signed headers");
        assert_eq!(
            ours, origin.canonical,
            "the origin's canonical requests differ (filter, then aws-sigv4)"
        );
    });
});

/// With `S3_RESIGN_FUZZ_TRACE` set, says what became of each input (to see how many verify).
fn trace(line: impl FnOnce() -> String) {
    thread_local! {
        static ON: bool = std::env::var_os("S3_RESIGN_FUZZ_TRACE").is_some();
    }
    if ON.with(|on| *on) {
        eprintln!("{}", line());
    }
}

/// `SignedHeaders` of a signature by `aws-sigv4`, from wherever it put it.
fn signed_list_of(signed: &Signed) -> String {
    if let Some(list) = signed.param("X-Amz-SignedHeaders") {
        return list.to_owned();
    }
    let auth = signed.header("authorization").expect("header auth");
    let from = auth.find("SignedHeaders=").expect("a signed header list") + "SignedHeaders=".len();
    auth[from..].split(',').next().unwrap().to_owned()
}

/// A presigned target without its `X-Amz-*` authentication parameters.
fn without_presigned_params(target: &str) -> String {
    const AUTH: [&str; 6] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ];
    let Some((path, query)) = target.split_once('?') else {
        return target.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !AUTH.contains(&p.split('=').next().unwrap_or_default()))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

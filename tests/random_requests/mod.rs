//! What the randomised tests share (`mutation.rs`, `differential.rs` and four more): a seeded
//! generator, URI encoding as the SDKs write it, and signing by an independent implementation
//! — SigV4 by the AWS SDK for Rust's `aws-sigv4` (the fuzz crate's oracle module, shared),
//! SigV2 by a string to sign written out here.
#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // the rule is about the module's size

#[path = "../../fuzz/src/oracle.rs"]
pub mod oracle;

use oracle::{sign_with_aws_sigv4, Oracle, Payload};
use s3_resign::sigv2::signature::sign as sign_v2;
use s3_resign::sigv4::signing::SecretKey;

/// 2026-11-29T12:00:00Z
pub const NOW: u64 = 1_795_953_600;

/// splitmix64: small, seeded, the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0..n
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Printable ASCII, no leading or trailing space (header values as SDKs send them).
    pub fn text(&mut self, len: usize) -> String {
        let mut s: String = (0..len)
            .map(|_| (b' ' + (self.next() % 95) as u8) as char)
            .collect();
        while s.starts_with(' ') || s.ends_with(' ') {
            s = s.trim().to_owned();
        }
        if s.is_empty() {
            s.push('v');
        }
        s
    }

    pub fn word(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len.max(1))
            .map(|_| *self.pick(ALPHABET) as char)
            .collect()
    }
}

#[allow(unused_imports)] // not every test that shares this module encodes
pub use oracle::{uri_encode, with_params};

/// What `aws-sigv4` adds to a request: headers (header auth), or query parameters (presigned).
pub struct SdkSigned {
    pub headers: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
}

pub enum Body<'a> {
    /// `x-amz-content-sha256` is this literal (a hex hash, `UNSIGNED-PAYLOAD`, a streaming mode).
    Literal(&'a str),
    /// Presigned: no payload header.
    Presigned,
}

/// Signs with `aws-sigv4` the way S3 clients do: single encoding, no path normalisation
/// (`oracle::sign_with_aws_sigv4`). `target` is the path and query as sent; every header in
/// `headers` is signed.
#[allow(clippy::too_many_arguments)]
pub fn sdk_sign(
    method: &str,
    host: &str,
    target: &str,
    headers: &[(String, String)],
    body: Body<'_>,
    key: (&str, &str),
    region: &str,
    time: u64,
    expires: Option<u64>,
) -> SdkSigned {
    let payload = match body {
        Body::Literal(hash) => Payload::Header(hash),
        Body::Presigned => Payload::Presigned(expires.unwrap_or(3600)),
    };
    let signed = sign_with_aws_sigv4(&Oracle {
        method,
        host,
        target,
        headers,
        key,
        region,
        time,
        payload,
    })
    .expect("aws-sigv4 signs");
    SdkSigned {
        headers: signed.headers,
        params: signed.params,
    }
}

/// The SigV2 string to sign, written out from S3's documentation: method, Content-MD5,
/// Content-Type, the date line, the `x-amz-*` headers (lower-cased, sorted, repeats joined
/// with `,`), the resource and its sub-resources (sorted, `name[=value]`, values decoded).
pub fn v2_string_to_sign(
    method: &str,
    headers: &[(String, String)],
    date_line: &str,
    resource: &str,
    sub_resources: &[(String, Option<String>)],
) -> String {
    let get = |name: &str| {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut amz: Vec<(String, Vec<String>)> = Vec::new();
    for (n, v) in headers {
        let n = n.to_ascii_lowercase();
        if n.starts_with("x-amz-") {
            match amz.iter_mut().find(|(name, _)| *name == n) {
                Some((_, values)) => values.push(v.trim().to_owned()),
                None => amz.push((n, vec![v.trim().to_owned()])),
            }
        }
    }
    amz.sort();
    let mut sts = format!(
        "{method}\n{}\n{}\n{date_line}\n",
        get("content-md5"),
        get("content-type")
    );
    for (n, values) in amz {
        sts.push_str(&format!("{n}:{}\n", values.join(",")));
    }
    sts.push_str(resource);
    let mut subs = sub_resources.to_vec();
    subs.sort();
    for (i, (n, v)) in subs.iter().enumerate() {
        sts.push(if i == 0 { '?' } else { '&' });
        sts.push_str(n);
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            sts.push('=');
            sts.push_str(v);
        }
    }
    sts
}

pub fn v2_sign(secret: &str, string_to_sign: &str) -> String {
    sign_v2(&SecretKey::new(secret), string_to_sign.as_bytes()).to_base64()
}

/// An HTTP date (`Sun, 29 Nov 2026 12:00:00 GMT`).
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let amz = s3_resign::sigv4::amz_date::AmzDate::from_unix_seconds(secs).to_string();
    let month: usize = amz[4..6].parse().unwrap();
    format!(
        "{}, {} {} {} {}:{}:{} GMT",
        DAYS[((secs / 86_400) % 7) as usize],
        &amz[6..8],
        MONTHS[month - 1],
        &amz[0..4],
        &amz[9..11],
        &amz[11..13],
        &amz[13..15]
    )
}

/// How many requests a randomised test makes: `S3_RESIGN_<NAME>` or `default`.
pub fn count(name: &str, default: usize) -> usize {
    std::env::var(format!("S3_RESIGN_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether the path holds an escaped NUL (`%00`), which the filter refuses (Ceph answered even a
/// HEAD of such a path with a body).
pub fn path_holds_an_escaped_nul(target: &str) -> bool {
    target.split('?').next().unwrap_or_default().contains("%00")
}

/// Whether a query names a parameter twice, which the filter refuses (origins read a repeated
/// one differently). Names are encoded canonically here, so equal as sent is equal decoded.
pub fn names_a_parameter_twice(target: &str) -> bool {
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let names: Vec<&str> = query
        .split('&')
        .map(|segment| segment.split('=').next().unwrap_or_default())
        .collect();
    names
        .iter()
        .enumerate()
        .any(|(i, name)| !name.is_empty() && names[..i].contains(name))
}

/// Whether a query name holds an encoded `=`: Ceph decodes `name=value` before it splits it,
/// so the filter refuses such a name.
pub fn names_an_encoded_equals(target: &str) -> bool {
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query.split('&').any(|segment| {
        let name = segment.split('=').next().unwrap_or_default();
        name.to_ascii_uppercase().contains("%3D")
    })
}

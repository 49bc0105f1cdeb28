//! Micro-benchmark of the per-request work: verify the client's signature and re-sign for the
//! origin, for a presigned URL and a header-signed request (native code; inside Envoy's V8 the
//! same work runs as wasm), and a presigned URL repeated (served from the cache of verified
//! URLs). `cargo bench --bench resign`; `--profile N [presigned|repeated|header|miss|distinct]` for callgrind.
// Tests sort with the standard library: clippy.toml's rule is about the module's size.
#![allow(clippy::disallowed_methods)]

use s3_resign::config::Config;
use s3_resign::gateway::{Decision, Gateway};
use s3_resign::request::Request;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counts heap allocations, so the benchmark can report them per request.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// 2026-11-29T12:00:00Z
const NOW: u64 = 1_795_953_600;

/// A gateway remembering `cached` verified presigned URLs: 0 measures distinct requests (the
/// same request again would otherwise be a cache hit).
fn gateway(cached: usize) -> Gateway {
    let json = format!(
        r#"{{"public_domains":["s3.mydomain.com"],"origin_authority":"s3.example.com","presigned_cache_entries":{cached},"credentials":[{{"access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","origin_access_key_id":"ORIGINKEY","origin_secret_access_key":"origin-secret"}}]}}"#
    );
    Gateway::new(Config::parse(json.as_bytes(), &|_| None).unwrap())
}

/// A request as real clients send it, signed for the public host.
fn presigned() -> Vec<(String, Vec<u8>)> {
    let path = "/bucket/photos/2026/a%20holiday%20picture.jpg?response-content-disposition=attachment&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T115959Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=SIG";
    sign_presigned(path)
}

/// The `i`th of many presigned URLs that differ in their key.
fn distinct_presigned(i: u32) -> Vec<(String, Vec<u8>)> {
    sign_presigned(&format!("/bucket/photos/2026/picture%20{i:06}.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T115959Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=SIG"))
}

fn header_signed() -> Vec<(String, Vec<u8>)> {
    let mut pairs = head("PUT", "/bucket/photos/2026/a%20holiday%20picture.jpg");
    for (n, v) in [
        ("content-type", "image/jpeg"),
        ("content-length", "1048576"),
        (
            "user-agent",
            "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux lang/python#3.11.7",
        ),
        (
            "x-amz-content-sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        ("x-amz-date", "20261129T115959Z"),
        ("x-amz-meta-camera", "x100"),
        ("accept-encoding", "identity"),
        ("x-request-id", "6f1c2a54-9b8e-4f7a-a0c3-2d1e0b9f8a76"),
        ("x-forwarded-proto", "http"),
    ] {
        pairs.push((n.into(), v.into()));
    }
    let signed =
        "content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-camera";
    let signature = s3_resign_bench_sign(&pairs, signed);
    pairs.push((
        "authorization".into(),
        format!("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261129/us-east-1/s3/aws4_request, SignedHeaders={signed}, Signature={signature}").into(),
    ));
    pairs
}

fn head(method: &str, path: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (":method".into(), method.into()),
        (":path".into(), path.into()),
        (":authority".into(), "s3.mydomain.com".into()),
        (":scheme".into(), "https".into()),
    ]
}

fn sign_presigned(path_with_placeholder: &str) -> Vec<(String, Vec<u8>)> {
    let unsigned = path_with_placeholder.replace("&X-Amz-Signature=SIG", "");
    let pairs = head("GET", &unsigned);
    let signature = s3_resign_bench_sign(&pairs, "host");
    head("GET", &path_with_placeholder.replace("SIG", &signature))
}

/// The client's signature, computed with the library's own steps (verified against the AWS
/// vectors and the AWS SDK in the tests).
fn s3_resign_bench_sign(pairs: &[(String, Vec<u8>)], signed: &str) -> String {
    use s3_resign::sigv4::{amz_date::AmzDate, canonical::CanonicalRequest, credential::Scope};
    use s3_resign::sigv4::{query, signed_headers::SignedHeaders, signing, uri};
    let req = Request::from_pairs(pairs).unwrap();
    let signed = SignedHeaders::parse(signed).unwrap();
    let payload = match req.single("x-amz-content-sha256").unwrap() {
        Some(p) => String::from_utf8(p.to_vec()).unwrap(),
        None => "UNSIGNED-PAYLOAD".into(),
    };
    let canonical = CanonicalRequest::new(
        req.method,
        uri::canonical_path(req.raw_path()),
        query::canonical_query(req.raw_query(), |_| query::Edit::Keep),
        &signed,
        &req.headers,
        &payload,
    )
    .unwrap()
    .render(req.authority);
    let scope = Scope {
        date: "20261129",
        region: "us-east-1",
        service: "s3",
    };
    let date = AmzDate::parse(b"20261129T115959Z").unwrap();
    signing::SigningKey::derive(
        &signing::SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        &scope,
    )
    .sign(signing::string_to_sign(&date, &scope, &canonical).as_bytes())
    .to_hex()
}

fn decide(name: &str, gateway: &Gateway, pairs: &[(String, Vec<u8>)]) {
    let req = Request::from_pairs(black_box(pairs)).unwrap();
    match gateway.decide(&req, NOW) {
        Decision::Forward(f) => {
            black_box(f);
        }
        Decision::Reject(r) => panic!("{name}: {}", r.error),
    }
}

fn bench(name: &str, gateway: &Gateway, pairs: &[(String, Vec<u8>)]) {
    let run = |iterations: u32| {
        let start = Instant::now();
        for _ in 0..iterations {
            decide(name, gateway, pairs);
        }
        start.elapsed()
    };
    // Allocations of a request after the first two (the first derives and caches the signing
    // keys; a presigned URL is remembered from its second time).
    decide(name, gateway, pairs);
    decide(name, gateway, pairs);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    decide(name, gateway, pairs);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    // Calibrate to ~200 ms a sample, then take the median of 7 samples.
    let mut iterations = 100;
    while run(iterations) < Duration::from_millis(50) {
        iterations *= 2;
    }
    iterations *= 4;
    let mut samples: Vec<f64> = (0..7)
        .map(|_| run(iterations).as_nanos() as f64 / f64::from(iterations))
        .collect();
    samples.sort_by(f64::total_cmp);
    let median = samples[3];
    println!(
        "{name:<36} {:>8.2} µs/request  {:>9.0} requests/s  (samples {:.2}–{:.2} µs)  {allocations} allocations/request",
        median / 1000.0,
        1e9 / median,
        samples[0] / 1000.0,
        samples[6] / 1000.0
    );
}

fn main() {
    // `--profile N`: N requests of each kind, untimed, for `valgrind --tool=callgrind`, whose
    // instruction counts hold still on a busy machine.
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = args
        .iter()
        .position(|a| a == "--profile")
        .and_then(|i| args.get(i + 1)?.parse::<u32>().ok())
    {
        let only = args.last().map(String::as_str);
        // Distinct presigned URLs, each once: with the cache on, every one a miss and an
        // insert (what the cache costs traffic that never repeats); with it off, the same
        // requests without it. Signing them is counted too: compare `resign::decide`'s
        // inclusive cost in callgrind_annotate.
        if let Some(cached @ ("miss" | "distinct")) = only {
            let gateway = gateway(if cached == "miss" { 4096 } else { 0 });
            let requests: Vec<_> = (0..n).map(distinct_presigned).collect();
            for pairs in &requests {
                decide(cached, &gateway, pairs);
            }
            return;
        }
        let kinds = [
            ("presigned", gateway(0), presigned()),
            ("repeated", gateway(4096), presigned()),
            ("header", gateway(0), header_signed()),
        ];
        for (name, gateway, pairs) in kinds {
            if matches!(only, Some("presigned" | "repeated" | "header")) && only != Some(name) {
                continue;
            }
            for _ in 0..n {
                decide(name, &gateway, &pairs);
            }
        }
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants speed.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    println!("verify + re-sign, one core, native (signing keys cached after the first request)");
    bench("presigned GET", &gateway(0), &presigned());
    bench(
        "header-signed PUT (6 signed headers)",
        &gateway(0),
        &header_signed(),
    );
    bench(
        "presigned GET repeated (cache hit)",
        &gateway(4096),
        &presigned(),
    );
}

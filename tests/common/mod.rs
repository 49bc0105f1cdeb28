//! Helpers shared by the vector-driven tests: where the test data lives, and a parser
//! for the raw HTTP requests of the AWS test suite; and a model of Envoy's body buffer.
#![allow(dead_code)]

use s3_resign::body_edits::Edit;

use std::path::PathBuf;

pub fn testdata(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative)
}

/// A raw HTTP/1.1 request as the test suite writes it.
pub struct RawRequest {
    pub method: String,
    /// Path and query, as on the request line.
    pub target: Vec<u8>,
    /// `(name, value)` in order; folded lines (obs-fold) are joined with a space.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn parse(raw: &[u8]) -> RawRequest {
        let (head, body) = match find(raw, b"\n\n") {
            Some(i) => (&raw[..i], raw[i + 2..].to_vec()),
            None => (raw, Vec::new()),
        };
        let mut lines = head.split(|&b| b == b'\n');
        let request_line = lines.next().expect("request line");
        // The path may hold spaces ("GET /example space/ HTTP/1.1").
        let first_space = request_line.iter().position(|&b| b == b' ').unwrap();
        let last_space = request_line.iter().rposition(|&b| b == b' ').unwrap();
        let method = String::from_utf8(request_line[..first_space].to_vec()).unwrap();
        let target = request_line[first_space + 1..last_space].to_vec();
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for line in lines {
            if line.starts_with(b" ") || line.starts_with(b"\t") {
                let last = headers.last_mut().expect("a folded line follows a header");
                last.1.push(b' ');
                last.1.extend_from_slice(line);
                continue;
            }
            let colon = line.iter().position(|&b| b == b':').expect("header colon");
            let name = String::from_utf8(line[..colon].to_vec()).unwrap();
            headers.push((name, line[colon + 1..].to_vec()));
        }
        RawRequest {
            method,
            target,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The request as Envoy hands it to the filter: pseudo-headers first, Host as
    /// `:authority`, names lower-cased, values with the leading white space the codec strips.
    pub fn envoy_pairs(&self) -> Vec<(String, Vec<u8>)> {
        let mut pairs = vec![
            (":method".to_owned(), self.method.as_bytes().to_vec()),
            (":path".to_owned(), self.target.clone()),
        ];
        for (name, value) in &self.headers {
            let value = trim(value).to_vec();
            if name.eq_ignore_ascii_case("host") {
                pairs.push((":authority".to_owned(), value));
            } else {
                pairs.push((name.to_ascii_lowercase(), value));
            }
        }
        pairs
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &value[start..end]
}

/// The worked S3 examples (`s3-sigv4-examples.json`).
pub fn s3_examples() -> serde_json::Value {
    let text = std::fs::read_to_string(testdata("s3-sigv4-examples.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn s3_example(name: &str) -> serde_json::Value {
    s3_examples()["sigv4"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no S3 example named {name}"))
        .clone()
}

/// The Envoy view of an S3 example request: `(name, value)` pairs with pseudo-headers.
pub fn example_pairs(example: &serde_json::Value) -> Vec<(String, Vec<u8>)> {
    let mut target = example["path"].as_str().unwrap().to_owned();
    let query = example["query"].as_str().unwrap();
    if !query.is_empty() {
        target.push('?');
        target.push_str(query);
    }
    let mut pairs = vec![
        (
            ":method".to_owned(),
            example["method"].as_str().unwrap().as_bytes().to_vec(),
        ),
        (":path".to_owned(), target.into_bytes()),
    ];
    for h in example["headers"].as_array().unwrap() {
        let (name, value) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
        let name = if name.eq_ignore_ascii_case("host") {
            ":authority".to_owned()
        } else {
            name.to_ascii_lowercase()
        };
        pairs.push((name, value.as_bytes().to_vec()));
    }
    if let Some(authorization) = example["expected"]["authorization"].as_str() {
        pairs.push((
            "authorization".to_owned(),
            authorization.as_bytes().to_vec(),
        ));
    }
    pairs
}

/// Envoy's body buffer as the proxy-wasm host edits it: replaced from its start (drain, then
/// prepend), or added to at its end; nothing else.
pub fn envoy_edit(buffer: &mut Vec<u8>, edit: Edit<'_>) {
    if edit.start == 0 {
        buffer.drain(..edit.length.min(buffer.len()));
        buffer.splice(0..0, edit.data.iter().copied());
    } else {
        assert!(
            edit.start >= buffer.len(),
            "Envoy refuses an edit inside the buffer"
        );
        buffer.extend_from_slice(edit.data);
    }
}

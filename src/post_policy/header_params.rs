//! The `value *( ";" parameter )` shape shared by `Content-Type` (the boundary, RFC 2045 §5.1)
//! and a part's `Content-Disposition` (the field name and file name, RFC 7578 §4.2): a leading
//! value, then `name=token` or `name="quoted string"` parameters.
//!
//! Stricter than the grammar where two readers could disagree, since the origin parses the same
//! bytes again and acts on its reading (Go's `mime.ParseMediaType`, which MinIO uses, reads
//! `name*=` as the name, skips a part it cannot parse, and then reads on past the file the
//! proxy verified): only the parameters the caller names are accepted (no `name*`, `name*0`,
//! `boundary*`), each once (and for a part, in lower case: Garage's reader looks for `name` in
//! lower case only, so `NAME="key"` was a field here and none there, an attack run found); a
//! bare value is a token; a quoted string may not hold a backslash (RFC 9110 reads `\"` as a
//! quote, browsers and `requests` never write one, and a reader that does not unescape would
//! see another name); no parameter is empty (`;;`; a trailing `;` is ignored, as Go ignores
//! it); and no control character is accepted.

use crate::bytes::split_once_bytes;

/// One parameter: its name (one of those asked for), its value unquoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub value: Vec<u8>,
}

/// The leading value (trimmed) and the parameters, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub value: &'a [u8],
    pub params: Vec<Param>,
}

impl Parsed<'_> {
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_slice())
    }
}

/// How a parameter's name may be spelt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameCase {
    /// In any case, as RFC 9110 has it.
    Any,
    /// In lower case only, as every client writes it and some readers match it.
    Lower,
}

/// Parses `value; a=b; c="d"`, where the parameters may only be those `allowed` (lower case),
/// spelt in `case`. The error says what is wrong, for the log line.
pub fn parse<'h>(
    header: &'h [u8],
    allowed: &[&'static str],
    case: NameCase,
) -> Result<Parsed<'h>, &'static str> {
    if header
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err("a header holds a control character");
    }
    let end = header
        .iter()
        .position(|&b| b == b';')
        .unwrap_or(header.len());
    let (value, mut rest) = header.split_at(end);
    let mut params: Vec<Param> = Vec::new();
    while let Some(after) = rest.strip_prefix(b";") {
        let after = after.trim_ascii_start();
        if after.is_empty() {
            // A trailing `;`, which Go's reader ignores too.
            break;
        }
        if after.starts_with(b";") {
            return Err("a parameter is empty");
        }
        let (sent_name, value_and_rest) =
            split_once_bytes(after, b'=').ok_or("a parameter has no '='")?;
        if sent_name.is_empty() || !sent_name.iter().all(|&b| is_token(b)) {
            return Err("a parameter name is not a token");
        }
        let name = *allowed
            .iter()
            .find(|known| known.as_bytes().eq_ignore_ascii_case(sent_name))
            .ok_or("a parameter is not one this proxy reads")?;
        if case == NameCase::Lower && name.as_bytes() != sent_name {
            return Err("a parameter name is not in lower case");
        }
        if params.iter().any(|p| p.name == name) {
            return Err("a parameter is repeated");
        }
        let (value, remainder) = match value_and_rest.strip_prefix(b"\"") {
            Some(quoted) => {
                let (inner, after_quote) =
                    split_once_bytes(quoted, b'"').ok_or("a quoted parameter does not end")?;
                if inner.contains(&b'\\') {
                    return Err("a quoted parameter holds a backslash");
                }
                (inner.to_vec(), after_quote)
            }
            None => {
                let end = value_and_rest
                    .iter()
                    .position(|&b| b == b';' || b == b' ' || b == b'\t')
                    .unwrap_or(value_and_rest.len());
                let (bare, remainder) = value_and_rest.split_at(end);
                if bare.is_empty() || !bare.iter().all(|&b| is_token(b)) {
                    return Err("a parameter value is neither a token nor a quoted string");
                }
                (bare.to_vec(), remainder)
            }
        };
        let remainder = remainder.trim_ascii_start();
        if !remainder.is_empty() && !remainder.starts_with(b";") {
            return Err("a parameter is followed by something other than ';'");
        }
        params.push(Param { name, value });
        rest = remainder;
    }
    Ok(Parsed {
        value: value.trim_ascii(),
        params,
    })
}

/// RFC 9110 `tchar`.
pub(super) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["name", "filename", "boundary", "charset", "b"];

    fn params(header: &str) -> Vec<(String, String)> {
        parse(header.as_bytes(), ALL, NameCase::Any)
            .unwrap()
            .params
            .into_iter()
            .map(|p| (p.name.to_owned(), String::from_utf8(p.value).unwrap()))
            .collect()
    }

    #[test]
    fn reads_tokens_and_quoted_strings() {
        let p = parse(
            b"form-data; name=\"key\"; filename=\"a b;c.jpg\"",
            ALL,
            NameCase::Any,
        )
        .unwrap();
        assert_eq!(p.value, b"form-data");
        assert_eq!(p.get("name"), Some(&b"key"[..]));
        assert_eq!(p.get("filename"), Some(&b"a b;c.jpg"[..]));
        assert_eq!(
            params("multipart/form-data;boundary=abc ; Charset=UTF-8"),
            [
                ("boundary".to_owned(), "abc".to_owned()),
                ("charset".to_owned(), "UTF-8".to_owned())
            ]
        );
        assert_eq!(params("form-data; name=\"\""), [("name".into(), "".into())]);
        assert_eq!(
            params("form-data; filename=\"\u{e9}t\u{e9}.txt\"")[0].1,
            "\u{e9}t\u{e9}.txt"
        );
        assert!(parse(b"text/plain", ALL, NameCase::Any)
            .unwrap()
            .params
            .is_empty());
        assert_eq!(
            params("form-data; name=\"key\"; "),
            [("name".into(), "key".into())]
        );
    }

    #[test]
    fn refuses_what_readers_could_read_differently() {
        for bad in [
            "form-data; name=\"a\\\"; name=\\\"key\"",
            "form-data; name=\"a\\b\"",
            "form-data; name=\"key\"; NAME=\"other\"",
            "form-data; name=\"key",
            "form-data; name",
            "form-data; na me=x",
            "form-data; name=\"key\" x",
            "form-data; name=",
            "form-data; name=a\"b",
            "form-data; name=\"a\rb\"",
            "form-data; name=\"a\u{7f}\"",
            // What Go's mime package reads as another name, or as no parameters at all (then
            // MinIO skips the part and reads on past the file that was verified).
            "form-data; name=\"x-ignore\"; name*=UTF-8''x-minio-fanout-list",
            "form-data; name*0=\"key\"",
            "form-data; name=\"file\"; filename*=UTF-8''a.txt",
            "form-data; name=\"file\"; filename=a/b.txt",
            "form-data; name=\"file\"; x=a=b",
            "form-data; name=\"file\"; x=\"y\"",
            "multipart/form-data; boundary=abc; boundary*=xyz",
            "form-data;; name=\"key\"",
            "form-data; name=a@b",
        ] {
            assert!(parse(bad.as_bytes(), ALL, NameCase::Any).is_err(), "{bad}");
        }
    }

    #[test]
    fn many_parameters_cost_no_more_than_the_first_unknown_one() {
        let header = format!("form-data{}", "; p=1".repeat(10_000));
        assert_eq!(
            parse(header.as_bytes(), ALL, NameCase::Any),
            Err("a parameter is not one this proxy reads")
        );
    }
}

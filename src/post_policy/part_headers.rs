//! The header block of one form part (RFC 7578 §4.2, §4.4): `Content-Disposition: form-data;
//! name="…"` with an optional `filename="…"`, and an optional `Content-Type`.
//!
//! RFC 7578 §4.8 allows no other header in a part. Anything a reader could take another way is
//! refused rather than guessed: another header (`Content-Transfer-Encoding` would have an
//! origin decode what was verified raw), a folded line, a bare CR or LF, a repeated header, a
//! disposition other than `form-data`, and any parameter but `name` and `filename` (`filename*`,
//! which RFC 7578 §4.2 says "MUST NOT be used"; `name*`, which Go's mime package, and so MinIO,
//! takes for the name).

use super::header_params::{self, NameCase};
use crate::bytes::split_once_bytes;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartHeaders {
    /// The field name, as sent (case kept).
    pub name: String,
    /// The `filename` parameter, when there is one (possibly empty).
    pub filename: Option<Vec<u8>>,
    /// The part's `Content-Type`, as sent.
    pub content_type: Option<Vec<u8>>,
}

/// Parses the lines between a part's boundary line and the empty line that ends them (both
/// excluded); lines are separated by CRLF.
pub fn parse(block: &[u8]) -> Result<PartHeaders, &'static str> {
    let mut disposition = None;
    let mut content_type = None;
    for line in split_lines(block) {
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            return Err("a part header is folded");
        }
        if line.contains(&b'\r') || line.contains(&b'\n') {
            return Err("a part header holds a bare CR or LF");
        }
        let (name, value) = split_once_bytes(line, b':').ok_or("a part header line has no ':'")?;
        let value = value.trim_ascii();
        if name.eq_ignore_ascii_case(b"content-disposition") {
            if disposition.replace(value).is_some() {
                return Err("a part has two Content-Disposition headers");
            }
        } else if name.eq_ignore_ascii_case(b"content-type") {
            if content_type.replace(value).is_some() {
                return Err("a part has two Content-Type headers");
            }
        } else if !is_ignorable(name, value) {
            return Err("a part carries a header other than Content-Disposition and Content-Type");
        }
    }
    let disposition = disposition.ok_or("a part has no Content-Disposition")?;
    let parsed = header_params::parse(
        disposition,
        &["name", "filename", "filename*"],
        NameCase::Lower,
    )?;
    // RFC 7578 §4.2: `filename*` "MUST NOT be used". .NET writes it after a `filename`, which
    // is the name read here; the part reaches the origin without it (rewritten as browsers
    // write it). Alone it would be the only name some readers (Go's) take: refused.
    match parsed.get("filename*") {
        Some(_) if parsed.get("filename").is_none() => {
            return Err("a part names its file only by filename*");
        }
        // RFC 8187's `charset'language'value`, percent-encoded: nothing in it that a reader
        // splitting at `;` or `=` could take for another parameter.
        Some(extended) if !extended.iter().all(|&b| is_ext_value_byte(b)) => {
            return Err("a filename* is not charset'language'percent-encoded");
        }
        _ => {}
    }
    if !parsed.value.eq_ignore_ascii_case(b"form-data") {
        return Err("a part's disposition is not form-data");
    }
    let name = parsed.get("name").ok_or("a part has no name")?;
    if name.is_empty() {
        return Err("a field name is empty");
    }
    // Field names are HTTP header names (`x-amz-meta-…`) or S3's own, all tokens. Readers
    // that search the disposition for `name` read inside a quoted one: Ceph RGW splits at every
    // `;` (`name="x-ignore-a; name=file"` is a field named `file` there), Garage's takes the
    // first `name=` after white space (`name="x-ignore-a name=key "` was its field `key`, an
    // attack run found). For the same reason `name` comes first, before a file name.
    if !name.iter().all(|&b| header_params::is_token(b)) {
        return Err("a field name is not a token");
    }
    let name = std::str::from_utf8(name).map_err(|_| "a field name is not a token")?;
    if parsed.params.first().map(|p| p.name) != Some("name") {
        return Err("a part's name is not the first parameter of its disposition");
    }
    let filename = parsed.get("filename");
    // Garage's reader gives no file name for one that is not UTF-8, and then stores
    // `${filename}` as spelt (a review found it).
    if filename.is_some_and(|f| std::str::from_utf8(f).is_err()) {
        return Err("a file name is not UTF-8");
    }
    if filename.is_some_and(reads_as_a_parameter) {
        return Err("a file name holds '; name=' as a parameter would");
    }
    Ok(PartHeaders {
        name: name.to_owned(),
        filename: filename.map(<[u8]>::to_vec),
        content_type: content_type.map(<[u8]>::to_vec),
    })
}

/// RFC 8187 `attr-char`, `%` and the `'` that separate charset, language and value.
fn is_ext_value_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%'".contains(&b)
}

/// Headers some HTTP libraries write in every part that change nothing of its content: a
/// `Content-Length` (OkHttp) and an identity `Content-Transfer-Encoding` (Apache HttpClient's
/// strict mode: `7bit`, `8bit`, `binary`). They are read past here, and the part reaches the
/// origin without them (`FormHead::normalising_edits` writes its headers as browsers do); any
/// other encoding would have an origin decode what was verified raw, and is refused.
fn is_ignorable(name: &[u8], value: &[u8]) -> bool {
    if name.eq_ignore_ascii_case(b"content-length") {
        return !value.is_empty() && value.len() <= 19 && value.iter().all(u8::is_ascii_digit);
    }
    name.eq_ignore_ascii_case(b"content-transfer-encoding")
        && [&b"7bit"[..], b"8bit", b"binary"]
            .iter()
            .any(|identity| value.eq_ignore_ascii_case(identity))
}

/// Whether a quoted value holds what a reader that splits at every `;` would take for another
/// parameter: `;`, white space, a token and `=`.
fn reads_as_a_parameter(value: &[u8]) -> bool {
    value.split(|&b| b == b';').skip(1).any(|rest| {
        let rest = rest.trim_ascii_start();
        let name_len = rest
            .iter()
            .take_while(|&&b| header_params::is_token(b))
            .count();
        name_len > 0 && rest.get(name_len) == Some(&b'=')
    })
}

fn split_lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(block);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.windows(2).position(|w| w == b"\r\n") {
            Some(at) => {
                rest = current.get(at + 2..);
                current.get(..at)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(block: &str) -> Result<PartHeaders, &'static str> {
        parse(block.as_bytes())
    }

    #[test]
    fn reads_fields_and_files_as_clients_write_them() {
        let field = headers("Content-Disposition: form-data; name=\"key\"").unwrap();
        assert_eq!(field.name, "key");
        assert_eq!(field.filename, None);
        // requests: a file part with its type; s3-tests: a filename on every part.
        let file = headers(
            "Content-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg",
        )
        .unwrap();
        assert_eq!(
            (
                file.name.as_str(),
                file.filename.as_deref(),
                file.content_type.as_deref()
            ),
            ("file", Some(&b"photo.jpg"[..]), Some(&b"image/jpeg"[..]))
        );
        // Header names and the disposition in any case, unquoted names.
        let lax =
            headers("content-type: text/plain\r\nCONTENT-DISPOSITION: Form-Data; name=X-Amz-Date")
                .unwrap();
        assert_eq!(lax.name, "X-Amz-Date");
        // A browser's empty file input.
        let empty =
            headers("Content-Disposition: form-data; name=\"file\"; filename=\"\"").unwrap();
        assert_eq!(empty.filename.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn refuses_anything_an_origin_could_read_otherwise() {
        for bad in [
            "",
            "Content-Type: text/plain",
            "Content-Disposition: form-data",
            "Content-Disposition: form-data; name=\"\"",
            "Content-Disposition: attachment; name=\"file\"",
            "Content-Disposition: file; name=\"file\"",
            "Content-Disposition: form-data; name=\"key\"\r\nContent-Transfer-Encoding: base64",
            "Content-Disposition: form-data; name=\"key\"\r\nContent-Disposition: form-data; name=\"acl\"",
            "Content-Disposition: form-data; name=\"key\"\r\nContent-Type: a\r\nContent-Type: b",
            "Content-Disposition: form-data;\r\n name=\"key\"",
            "Content-Disposition: form-data; name=\"key\"\nContent-Type: a",
            "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''a.txt",
            "X-Other: 1\r\nContent-Disposition: form-data; name=\"key\"",
            "Content-Disposition form-data; name=\"key\"",
            // What Ceph RGW, splitting at every `;`, reads as another name.
            "Content-Disposition: form-data; name=\"x-ignore-a; name=file\"",
            "Content-Disposition: form-data; name=\"file\"; filename=\"a; name=key; x=\"",
            "Content-Disposition: form-data; name=\"file\"; filename=\"a;filename=b\"",
            // What Garage, taking the first lower-case `name` after white space or `;`, reads
            // otherwise (an attack run, 2026-12-01): another field, or none.
            "Content-Disposition: form-data; name=\"x-ignore-a name=key \"",
            "Content-Disposition: form-data; NAME=\"key\"",
            "Content-Disposition: form-data; Name=\"key\"",
            "Content-Disposition: form-data; name=\"file\"; FileName=\"a.txt\"",
            "Content-Disposition: form-data; filename=\"a name=key\"; name=\"file\"",
            "Content-Disposition: form-data; name=\"a b\"",
            "Content-Disposition: form-data; name=\"a=b\"",
        ] {
            assert!(headers(bad).is_err(), "{bad:?}");
        }
        // What HTTP libraries add that changes nothing: read past, and dropped for the origin.
        for fine in [
            "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\nContent-Length: 5",
            "Content-Disposition: form-data; name=\"key\"\r\nContent-Transfer-Encoding: 8bit",
            "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Transfer-Encoding: binary",
            "Content-Disposition: form-data; name=file; filename=a.txt; filename*=utf-8''a.txt",
        ] {
            assert!(headers(fine).is_ok(), "{fine:?}");
        }
        for bad in [
            "Content-Disposition: form-data; name=\"x\"; filename=\"a\"; filename*=\"; name=signature\"",
            "Content-Disposition: form-data; name=\"x\"; filename=\"a\"; filename*=\"utf-8''a b\"",
            "Content-Disposition: form-data; name=\"key\"\r\nContent-Length: x",
            "Content-Disposition: form-data; name=\"key\"\r\nContent-Transfer-Encoding: quoted-printable",
        ] {
            assert!(headers(bad).is_err(), "{bad:?}");
        }
        // A `;` in a file name that reads as no parameter is a file name.
        for fine in ["a;b.txt", "a; b.txt", "a;=b", "a; x y=z"] {
            let part =
                format!("Content-Disposition: form-data; name=\"file\"; filename=\"{fine}\"");
            assert!(headers(&part).is_ok(), "{fine}");
        }
        assert!(parse(b"Content-Disposition: form-data; name=\"\xff\"").is_err());
        assert!(
            parse(b"Content-Disposition: form-data; name=\"file\"; filename=\"caf\xe9.txt\"")
                .is_err()
        );
    }

    #[test]
    fn refuses_a_bare_cr_or_lf_in_a_content_type() {
        // The disposition's parser refuses control characters itself; a part's Content-Type
        // has only this check, and the file's reaches the origin as sent (`as_browsers_write`),
        // where a bare CR or LF could end the header and start another.
        for bad in [
            "Content-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nContent-Type: text/plain\rContent-Transfer-Encoding: base64",
            "Content-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nContent-Type: text/plain\nContent-Transfer-Encoding: base64",
        ] {
            assert_eq!(
                headers(bad),
                Err("a part header holds a bare CR or LF"),
                "{bad:?}"
            );
        }
    }
}

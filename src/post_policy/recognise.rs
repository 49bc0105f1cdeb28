//! Whether a request head opens a browser upload (POST Object): `POST` to a bucket itself
//! (`/bucket` path-style, `/` virtual-hosted), no query, no `Authorization`, and a
//! `multipart/form-data` body. Its authentication is in the body; nothing in the head is
//! signed, so the request head has nothing to verify and every `x-amz-*` header stays unsigned.

use super::boundary::{media_type, Boundary, MediaType};
use super::errors;
use crate::addressing::Target;
use crate::rejection::Rejection;
use crate::request::Request;
use crate::unsigned_headers::Covered;

/// The request headers a form's signature covers: none. Origins read some headers of a POST
/// besides the form (MinIO takes SSE-C from them), so the check after verification must refuse
/// every `x-amz-*` header of a form upload.
pub fn covered_headers() -> Covered {
    Covered::Listed(String::new())
}

/// The boundary when `req` is a POST Object form; `None` when it is some other request (which
/// then takes the other schemes' path: anonymous, most likely); an error when it is a form
/// whose body cannot be read (`multipart/form-data` without a usable boundary).
///
/// A form goes to the bucket itself with no query, not even an empty one: `POST /bucket?delete`
/// is DeleteObjects, and the origin must never read a form as anything but an upload. Some
/// origins read one elsewhere all the same (Garage at `/bucket?x=1` and `/bucket//`), checking
/// its signature themselves; so an unsigned `POST` with a form body anywhere else is refused,
/// never forwarded as anonymous.
pub fn recognise(req: &Request<'_>, target: &Target<'_>) -> Result<Option<Boundary>, Rejection> {
    if req.method != b"POST" || req.values("authorization").next().is_some() {
        return Ok(None);
    }
    let content_type = match req.single("content-type") {
        Ok(Some(value)) => value,
        Ok(None) => return Ok(None),
        Err(_) => return Err(errors::malformed("the Content-Type header is repeated")),
    };
    let to_bucket = target.is_bucket();
    match media_type(content_type) {
        MediaType::Other => Ok(None),
        MediaType::FormData(boundary) if to_bucket && !req.has_query() => {
            no_payload_hash(req)?;
            Ok(Some(boundary))
        }
        MediaType::FormData(_) => Err(errors::malformed(
            "a browser upload goes to the bucket itself, with no query",
        )),
        MediaType::Malformed(why) => Err(errors::malformed(why)),
    }
}

/// A form has no payload hash, and no browser sends one; a value an origin reads as a framing
/// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`) would have it decode another body than the form read
/// here. Only this `x-amz-*` header passes unsigned elsewhere (an attack run saw it pass on
/// forms, 2026-12-04).
fn no_payload_hash(req: &Request<'_>) -> Result<(), Rejection> {
    match req.values("x-amz-content-sha256").next() {
        Some(value) => Err(errors::invalid_argument(
            "A browser upload (POST Object) carries no payload hash.",
            "x-amz-content-sha256",
            &String::from_utf8_lossy(value),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addressing::Style;
    use crate::s3_error::S3ErrorCode;

    const FORM: &str = "multipart/form-data; boundary=xyz";

    fn check(
        style: Style<'static>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Option<Boundary>, Rejection> {
        let mut pairs: Vec<(String, String)> = vec![
            (":method".into(), method.into()),
            (":path".into(), path.into()),
            (":authority".into(), "s3.mydomain.com".into()),
        ];
        pairs.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        let req = Request::from_pairs(&pairs).unwrap();
        let target = Target::parse(style, req.raw_path()).unwrap();
        recognise(&req, &target)
    }

    fn is_form(style: Style<'static>, path: &str, headers: &[(&str, &str)]) -> bool {
        check(style, "POST", path, headers).unwrap().is_some()
    }

    #[test]
    fn a_form_posted_to_a_bucket_in_either_style() {
        let form = [("content-type", FORM)];
        let virtual_host = Style::Virtual { bucket: "photos" };
        assert_eq!(
            check(Style::Path, "POST", "/photos", &form).unwrap(),
            Some(Boundary::new(b"xyz").unwrap())
        );
        assert!(is_form(Style::Path, "/photos/", &form));
        assert!(is_form(virtual_host, "/", &form));
    }

    /// Elsewhere a form is refused, not forwarded as anonymous: Garage reads one at
    /// `/bucket?x=1` and `/bucket//` too, and checks its signature itself.
    #[test]
    fn a_form_anywhere_else_is_refused() {
        let form = [("content-type", FORM)];
        let virtual_host = Style::Virtual { bucket: "photos" };
        for (style, path) in [
            (Style::Path, "/"),
            (Style::Path, "/photos/key"),
            (Style::Path, "/photos//"),
            (virtual_host, "/key"),
            (virtual_host, "//"),
            (Style::Path, "/photos?delete"),
            (Style::Path, "/photos?x=1"),
            (Style::Path, "/photos?"),
            (virtual_host, "/?uploads"),
        ] {
            let refused = check(style, "POST", path, &form).unwrap_err();
            assert_eq!(
                refused.error.code,
                S3ErrorCode::MalformedPOSTRequest,
                "{path}"
            );
        }
    }

    #[test]
    fn anything_else_is_not_a_form() {
        let form = [("content-type", FORM)];
        assert!(!is_form(
            Style::Path,
            "/photos",
            &[
                ("content-type", FORM),
                ("authorization", "AWS4-HMAC-SHA256 x")
            ]
        ));
        assert!(!is_form(
            Style::Path,
            "/photos",
            &[("content-type", "text/plain")]
        ));
        assert!(!is_form(Style::Path, "/photos", &[]));
        assert_eq!(check(Style::Path, "PUT", "/photos", &form).unwrap(), None);
        assert_eq!(check(Style::Path, "post", "/photos", &form).unwrap(), None);
    }

    #[test]
    fn no_header_of_a_form_is_signed() {
        let pairs = [
            (":method", "POST"),
            (":path", "/photos"),
            (":authority", "s3.mydomain.com"),
            ("content-type", FORM),
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        ];
        let req = Request::from_pairs(&pairs).unwrap();
        let refused = crate::unsigned_headers::check(&req, &covered_headers()).unwrap_err();
        assert_eq!(refused.error.code, S3ErrorCode::AccessDenied);
        // Nor a payload hash, which passes unsigned on other requests.
        for value in ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", ""] {
            let refused = check(
                Style::Path,
                "POST",
                "/photos",
                &[("content-type", FORM), ("x-amz-content-sha256", value)],
            )
            .unwrap_err();
            assert_eq!(refused.error.code, S3ErrorCode::InvalidArgument, "{value}");
        }
    }

    #[test]
    fn a_form_without_a_usable_boundary_is_malformed() {
        for headers in [
            &[("content-type", "multipart/form-data")][..],
            &[("content-type", "multipart/form-data; boundary=\"\"")],
            &[("content-type", FORM), ("content-type", FORM)],
        ] {
            let err = check(Style::Path, "POST", "/photos", headers).unwrap_err();
            assert_eq!(err.error.code, S3ErrorCode::MalformedPOSTRequest);
        }
    }
}

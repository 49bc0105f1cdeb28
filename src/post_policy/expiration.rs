//! The policy's `expiration`: "ISO8601 GMT date format", `2013-08-01T12:00:00.000Z` in AWS's
//! examples, `2026-11-29T12:00:00Z` from botocore and the JavaScript SDK. Only UTC (`Z`) is
//! read: S3 refuses an offset (`+02:00`) and a space for the `T` with "Invalid 'expiration'
//! value".

use crate::sigv4::amz_date::AmzDate;

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` to Unix seconds (the fraction is dropped: the policy is
/// expired from the second it names on).
pub fn parse(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let layout = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.len() < 20 || !layout.iter().all(|&(at, c)| b.get(at) == Some(&c)) {
        return None;
    }
    let rest = b.get(19..)?;
    let zone = match rest.strip_prefix(b".") {
        Some(fraction) => {
            let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return None;
            }
            fraction.get(digits..)?
        }
        None => rest,
    };
    if zone != b"Z" {
        return None;
    }
    // The same instant in the basic format SigV4 uses, which `AmzDate` validates.
    let mut basic = Vec::with_capacity(16);
    for range in [0..4, 5..7, 8..10] {
        basic.extend_from_slice(b.get(range)?);
    }
    basic.push(b'T');
    for range in [11..13, 14..16, 17..19] {
        basic.extend_from_slice(b.get(range)?);
    }
    basic.push(b'Z');
    let date = AmzDate::parse(&basic).ok()?;
    u64::try_from(date.unix_seconds()).ok()
}

/// Unix seconds as botocore writes an expiration, `YYYY-MM-DDTHH:MM:SS.000Z`.
pub fn format(unix_seconds: u64) -> String {
    // The basic format, `YYYYMMDDTHHMMSSZ`, with the separators put in.
    let basic = AmzDate::from_unix_seconds(unix_seconds).text();
    let mut out = String::with_capacity(24);
    for (i, &c) in basic.iter().enumerate() {
        match i {
            4 | 6 => out.push('-'),
            11 | 13 => out.push(':'),
            15 => out.push_str(".000"),
            _ => {}
        }
        out.push(char::from(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_what_it_reads() {
        assert_eq!(format(1_795_953_600), "2026-11-29T12:00:00.000Z");
        assert_eq!(format(1_451_476_859), "2015-12-30T12:00:59.000Z");
        for secs in [0, 1_451_476_800, 1_795_953_600 + 604_800, 4_102_444_799] {
            assert_eq!(parse(&format(secs)), Some(secs));
        }
    }

    #[test]
    fn reads_the_forms_clients_write() {
        // 2015-12-30T12:00:00Z, AWS's SigV4 example.
        assert_eq!(parse("2015-12-30T12:00:00.000Z"), Some(1_451_476_800));
        assert_eq!(parse("2015-12-30T12:00:00Z"), Some(1_451_476_800));
        assert_eq!(parse("2015-12-30T12:00:00.999999Z"), Some(1_451_476_800));
        assert_eq!(parse("2026-11-29T12:00:00.000Z"), Some(1_795_953_600));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "2015-12-30",
            "2015-12-30T12:00:00",
            "2015-12-30T12:00:00+02:00",
            "2015-12-30 12:00:00Z",
            "2015-12-30T12:00:00.Z",
            "2015-12-30T12:00:00.0000000000Z",
            "2015-12-30T12:00:00.000z",
            "2015-13-30T12:00:00.000Z",
            "2015-02-30T12:00:00.000Z",
            "2015-12-30T24:00:00.000Z",
            "2015-12-30T12:00:00.000ZZ",
            "20151230T120000Z",
            "2015-12-30T12:00:00.000\u{e9}",
            "\u{e9}015-12-30T12:00:00.000Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

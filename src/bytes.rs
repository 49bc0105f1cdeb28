//! Byte-wise helpers for header and parameter text. Splitting at an ASCII delimiter is done
//! here rather than with `str::split` and a `char` pattern, whose generic searcher costs several
//! times as much in the VM for the short fields of a signature.

use std::borrow::Cow;

/// Where `byte` first occurs in `haystack`, eight bytes at a time: `position` takes a branch
/// per byte, and the fields searched here (an `Authorization` value, a credential, a
/// signed-header list) hold their delimiters tens of bytes apart.
pub fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let pattern = ONES * u64::from(byte);
    let mut words = haystack.chunks_exact(8);
    for (n, word) in words.by_ref().enumerate() {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        // Bytes equal to `byte` become zero; the lowest high bit set below marks the first
        // zero byte (a borrow can only mark bytes above a true zero, never below it).
        let x = u64::from_le_bytes(word) ^ pattern;
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(n * 8 + (zeros.trailing_zeros() / 8) as usize);
        }
    }
    let tail = words.remainder();
    let tail_start = haystack.len() - tail.len();
    tail.iter().position(|&b| b == byte).map(|i| tail_start + i)
}

/// Where `needle` first occurs in `haystack` (for the rare lookups that are not one byte); an
/// empty needle at the start (`windows(0)` would panic).
pub fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Whether `text` starts with `prefix`, ASCII letters in any case.
pub fn starts_with_ignore_ascii_case(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// Whether `name` is an `x-amz-*` name (header or parameter), in any case, with something
/// after the prefix: what SigV2 signs and origins read as S3's own.
pub fn is_amz_name(name: &[u8]) -> bool {
    name.len() > 6 && starts_with_ignore_ascii_case(name, b"x-amz-")
}

/// `text` with the characters Unicode's case rules turn into ASCII letters written as those
/// letters: `İ` (U+0130) and `ı` (U+0131) as `i`, `ſ` (U+017F) as `s`, the Kelvin sign `K`
/// (U+212A) as `k`. A server that lower-cases with Unicode's rules (Go's `strings.ToLower`),
/// upper-cases with them, or folds case (Go's `strings.EqualFold`, Python's `casefold`) reads
/// `x-amz-security-to%E2%84%AAen` as `x-amz-security-token`; compare with this, then ASCII
/// case, to read a name as such a server may. No other character maps to a single ASCII
/// letter; full case folding's expansions (`ß` to `ss`, `ﬅ` to `st`) are not covered.
/// Bytes that are not UTF-8 stay as they are.
pub fn unicode_lookalikes_as_ascii(text: &[u8]) -> Cow<'_, [u8]> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut ascii = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&first, tail)) = rest.split_first() {
        let (letter, after) = match rest {
            [0xC4, 0xB0 | 0xB1, after @ ..] => (b'i', after),
            [0xC5, 0xBF, after @ ..] => (b's', after),
            [0xE2, 0x84, 0xAA, after @ ..] => (b'k', after),
            _ => (first, tail),
        };
        ascii.push(letter);
        rest = after;
    }
    Cow::Owned(ascii)
}

/// A decimal number written as digits only (`1*DIGIT`: no sign, no spaces, leading zeros
/// allowed), as HTTP writes lengths; `None` for anything else or past `u64`. `str::parse`
/// would also take a leading `+`, which a length read here and one read by the origin must
/// not disagree about.
pub fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The pieces of `text` between occurrences of `delimiter`, as `str::split` gives them.
pub fn split(text: &str, delimiter: u8) -> impl Iterator<Item = &str> {
    debug_assert!(delimiter.is_ascii());
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match find_byte(current.as_bytes(), delimiter) {
            // An ASCII byte is a character boundary on both sides.
            Some(at) => {
                rest = current.get(at + 1..);
                current.get(..at)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// `text` around the first `delimiter`, as `str::split_once` gives it.
pub fn split_once(text: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = find_byte(text.as_bytes(), delimiter)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// `bytes` around the first `delimiter`, as `str::split_once` gives a string. A byte at a
/// time, as the parsers it serves (chunk headers, form parts, SigV2's `Authorization`) always
/// searched; `split_once` takes eight at a time, for the fields of a SigV4 signature.
pub fn split_once_bytes(bytes: &[u8], delimiter: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == delimiter)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_lookalikes_become_the_ascii_letters_servers_read() {
        let read = |text: &str| unicode_lookalikes_as_ascii(text.as_bytes()).into_owned();
        assert_eq!(
            read("x-amz-\u{17f}ecur\u{130}ty-to\u{212a}en"),
            b"x-amz-security-token"
        );
        assert_eq!(read("mult\u{131}part"), b"multipart");
        // Other characters, and bytes that are not UTF-8, stay.
        assert_eq!(read("caf\u{e9} \u{df}"), "caf\u{e9} \u{df}".as_bytes());
        assert_eq!(
            unicode_lookalikes_as_ascii(b"\xC4\xE2\x84\xC5").as_ref(),
            b"\xC4\xE2\x84\xC5"
        );
        assert!(matches!(
            unicode_lookalikes_as_ascii(b"plain"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn split_once_bytes_splits_at_the_first_delimiter() {
        assert_eq!(
            split_once_bytes(b"a:b:c", b':'),
            Some((&b"a"[..], &b"b:c"[..]))
        );
        assert_eq!(split_once_bytes(b":", b':'), Some((&b""[..], &b""[..])));
        assert_eq!(split_once_bytes(b"abc", b':'), None);
    }

    #[test]
    fn decimal_takes_digits_only() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"007"), Some(7));
        assert_eq!(decimal(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"+5",
            b"-1",
            b" 5",
            b"5 ",
            b"1_000",
            b"18446744073709551616",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn splits_as_the_standard_library_does() {
        for text in ["", ",", "a", "a,b", ",a,,b,", "é,ü,", "a=b=c", "=", "ab="] {
            assert_eq!(
                split(text, b',').collect::<Vec<_>>(),
                text.split(',').collect::<Vec<_>>(),
                "{text:?}"
            );
            assert_eq!(split_once(text, b'='), text.split_once('='), "{text:?}");
        }
    }

    #[test]
    fn finds_a_byte_wherever_it_falls_in_the_words() {
        // Neighbours one above and below the byte sought (the borrow of the word-wise test)
        // and the byte itself, at every place in every length.
        for fill in [b'a', b',' + 1, b',' - 1, 0x00, 0x80, 0xff] {
            for len in 0..40 {
                let mut text = vec![fill; len];
                assert_eq!(find_byte(&text, b','), None, "{len}");
                for at in (0..len).rev() {
                    text[at] = b',';
                    assert_eq!(find_byte(&text, b','), Some(at), "{fill} {len} {at}");
                }
            }
        }
        for byte in 0..=255u8 {
            let text: Vec<u8> = (0..=255u8).collect();
            assert_eq!(find_byte(&text, byte), Some(usize::from(byte)));
        }
    }

    #[test]
    fn finds_a_subslice_and_an_empty_one_without_panicking() {
        assert_eq!(find_bytes(b"/b/k?versionId=1", b"?versionId="), Some(4));
        assert_eq!(find_bytes(b"?version", b"?versionId="), None);
        assert_eq!(find_bytes(b"abc", b""), Some(0));
        assert_eq!(find_bytes(b"", b""), Some(0));
    }
}

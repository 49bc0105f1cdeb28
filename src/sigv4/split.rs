//! Splitting header and parameter text at an ASCII delimiter, byte-wise: `str::split` with a
//! `char` pattern goes through the generic searcher, several times the cost in the VM for the
//! short fields of a signature.

/// The pieces of `text` between occurrences of `delimiter`, as `str::split` gives them.
pub fn split(text: &str, delimiter: u8) -> impl Iterator<Item = &str> {
    debug_assert!(delimiter.is_ascii());
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.bytes().position(|b| b == delimiter) {
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
    let at = text.bytes().position(|b| b == delimiter)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! The proxy-wasm serialisation of a header map, read in place: a little-endian `u32` count,
//! a `(name length, value length)` pair of `u32` per header, then each name and each value
//! followed by a NUL. The SDK's reader copies every name and value into its own allocation
//! (and panics on a name that is not UTF-8); this one borrows them and fails closed on
//! anything malformed.

/// The `(name, value)` pairs of a serialised header map, borrowed from it; `None` if it is
/// malformed (truncated, or lengths that point outside it).
pub fn pairs(serialized: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if serialized.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let bytes = serialized.get(at..at.checked_add(4)?)?;
        let word = u32::from_le_bytes(bytes.try_into().ok()?);
        usize::try_from(word).ok()
    };
    let count = word(0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    // Every pair takes at least its two lengths and two NULs: a count the buffer cannot hold
    // is refused before anything is reserved for it.
    if data > serialized.len() {
        return None;
    }
    let mut take = |len: usize| -> Option<&[u8]> {
        let end = data.checked_add(len)?;
        let bytes = serialized.get(data..end)?;
        if serialized.get(end) != Some(&0) {
            return None;
        }
        data = end + 1;
        Some(bytes)
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (name_len, value_len) = (word(4 + 8 * i)?, word(8 + 8 * i)?);
        let name = take(name_len)?;
        let value = take(value_len)?;
        out.push((name, value));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialize(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (n, v) in pairs {
            out.extend_from_slice(&(n.len() as u32).to_le_bytes());
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        }
        for (n, v) in pairs {
            out.extend_from_slice(n);
            out.push(0);
            out.extend_from_slice(v);
            out.push(0);
        }
        out
    }

    #[test]
    fn reads_what_the_host_serialises() {
        let headers: [(&[u8], &[u8]); 4] = [
            (b":method", b"GET"),
            (b":path", b"/b/k?x=1"),
            (b"x-empty", b""),
            (b"x-raw", b"\xff\x00\xfe"),
        ];
        assert_eq!(pairs(&serialize(&headers)).unwrap(), headers);
        assert_eq!(pairs(b"").unwrap(), []);
        assert_eq!(pairs(&serialize(&[])).unwrap(), []);
    }

    #[test]
    fn refuses_malformed_maps_without_panicking() {
        let good = serialize(&[(b"a", b"1"), (b"bb", b"22")]);
        for cut in 1..good.len() {
            assert_eq!(pairs(&good[..cut]), None, "cut at {cut}");
        }
        let mut huge_count = good.clone();
        huge_count[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pairs(&huge_count), None);
        let mut huge_len = good.clone();
        huge_len[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pairs(&huge_len), None);
    }
}

//! How what a body piece releases takes that piece's place in Envoy's buffer. Envoy lets a
//! filter replace the buffer only from its start (drain, then prepend) or add at its end
//! (proxy-wasm `set_buffer`), so the edits are ordered to need nothing else.

/// One `set_buffer(start, length, data)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit<'a> {
    pub start: usize,
    pub length: usize,
    pub data: &'a [u8],
}

/// The edits that leave `lead`, `prefix`, `middle`, `last` in that order where the piece's
/// `size` bytes were: `middle` in place of everything, the two prepends in reverse order,
/// `last` at the end. Nothing is joined here, so nothing is copied twice.
pub fn edits<'a>(
    size: usize,
    lead: &'a [u8],
    prefix: &'a [u8],
    middle: &'a [u8],
    last: &'a [u8],
) -> impl Iterator<Item = Edit<'a>> {
    let replace = Edit {
        start: 0,
        length: size,
        data: middle,
    };
    let prepend = |data| Edit {
        start: 0,
        length: 0,
        data,
    };
    let append = Edit {
        start: lead.len() + prefix.len() + middle.len(),
        length: 0,
        data: last,
    };
    // Empty prepends and appends are left out; an empty replacement still drains the piece.
    let extra = [prepend(prefix), prepend(lead), append];
    std::iter::once(replace).chain(extra.into_iter().filter(|e| !e.data.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Envoy's buffer as the proxy-wasm host edits it.
    fn apply(buffer: &mut Vec<u8>, edit: Edit<'_>) {
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

    #[test]
    fn the_parts_replace_the_piece_in_order() {
        let parts: [&[u8]; 4] = [b"L", b"prefix", b"middle", b"last"];
        // Every part present or empty.
        for mask in 0..16 {
            let part = |i: usize| if mask & (1 << i) != 0 { parts[i] } else { b"" };
            let (lead, prefix, middle, last) = (part(0), part(1), part(2), part(3));
            let mut buffer = b"the piece as it came".to_vec();
            for edit in edits(buffer.len(), lead, prefix, middle, last) {
                apply(&mut buffer, edit);
            }
            assert_eq!(buffer, [lead, prefix, middle, last].concat(), "{mask}");
        }
    }
}

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

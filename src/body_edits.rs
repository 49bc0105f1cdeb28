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

/// The few bytes a body reader kept back from what it released before, written ahead of
/// what it releases next (or of the body's end): at most three, in place, since most pieces
/// carry one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lead {
    bytes: [u8; Lead::MAX],
    len: usize,
}

impl Lead {
    pub const MAX: usize = 3;

    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Puts `byte` before the bytes kept, if there is room (callers keep at most `MAX`).
    pub fn push_front(&mut self, byte: u8) {
        if self.len < Self::MAX {
            self.bytes.copy_within(..self.len, 1);
            self.bytes[0] = byte;
            self.len += 1;
        }
    }

    /// Takes the last byte kept.
    pub fn pop(&mut self) -> Option<u8> {
        self.len = self.len.checked_sub(1)?;
        self.bytes.get(self.len).copied()
    }
}

impl From<Option<u8>> for Lead {
    fn from(byte: Option<u8>) -> Self {
        let mut lead = Lead::default();
        if let Some(byte) = byte {
            lead.push_front(byte);
        }
        lead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Lead` keeps at most `MAX` bytes, the one pushed last first, and gives them back from
    /// the end; a push with no room left is dropped rather than written past the array (the
    /// filter must never panic). cargo-mutants: `<` made `<=` in `push_front`, `is_empty`
    /// made `false` and `pop` made `None` went unnoticed by the unit tests (`pop`'s by every
    /// native test before `the_data_s_end_stays_back_while_the_final_chunk_comes`).
    #[test]
    fn a_lead_keeps_at_most_three_bytes_in_order() {
        let mut lead = Lead::from(Some(b'c'));
        assert_eq!(
            (lead.as_slice(), lead.len(), lead.is_empty()),
            (&b"c"[..], 1, false)
        );
        lead.push_front(b'b');
        lead.push_front(b'a');
        lead.push_front(b'z');
        assert_eq!((lead.as_slice(), lead.len()), (&b"abc"[..], 3));
        assert_eq!(lead.pop(), Some(b'c'));
        assert_eq!(lead.pop(), Some(b'b'));
        assert_eq!(lead.pop(), Some(b'a'));
        assert_eq!(lead.pop(), None);
        assert!(lead.is_empty());
        assert_eq!(Lead::from(None), Lead::default());
    }
}

//! What a body piece releases, as edits of Envoy's buffer: applied by the host's rules, they
//! leave the released parts in order where the piece was.

mod common;

use common::envoy_edit;
use s3_resign::body_edits::edits;

#[test]
fn the_parts_replace_the_piece_in_order() {
    let parts: [&[u8]; 4] = [b"L", b"prefix", b"middle", b"last"];
    // Every part present or empty.
    for mask in 0..16 {
        let part = |i: usize| if mask & (1 << i) != 0 { parts[i] } else { b"" };
        let (lead, prefix, middle, last) = (part(0), part(1), part(2), part(3));
        let mut buffer = b"the piece as it came".to_vec();
        for edit in edits(buffer.len(), lead, prefix, middle, last) {
            envoy_edit(&mut buffer, edit);
        }
        assert_eq!(buffer, [lead, prefix, middle, last].concat(), "{mask}");
    }
}

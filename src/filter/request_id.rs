//! Envoy's id of each request, for its answers and log lines.

/// Envoy's id of the request (`x-request-id`, a UUID), kept in place: every answer carries it,
/// also one given once the head has gone on, when Envoy lets a filter read it no longer (a
/// review found such answers without one, 2026-12-01), and a copy costs no allocation.
pub struct RequestId {
    bytes: [u8; 64],
    len: usize,
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl RequestId {
    /// From the request's headers as the host gave them, before anything else is read of them
    /// (a request without `:path` is answered with the id too).
    pub fn of(headers: &[(&[u8], &[u8])]) -> Self {
        let mut id = RequestId::default();
        let value = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(b"x-request-id"))
            .map(|&(_, value)| value);
        if let Some(value) = value.filter(|v| v.iter().all(u8::is_ascii_graphic)) {
            if let Some(bytes) = id.bytes.get_mut(..value.len()) {
                bytes.copy_from_slice(value);
                id.len = value.len();
            }
        }
        id
    }

    pub fn as_str(&self) -> Option<&str> {
        let id = self.bytes.get(..self.len).filter(|id| !id.is_empty())?;
        std::str::from_utf8(id).ok()
    }

    /// `; request id …` for a log line, so that it can be found beside the access log's.
    pub fn logged(&self) -> String {
        self.as_str()
            .map_or_else(String::new, |id| format!("; request id {id}"))
    }
}

//! The head of a POST Object form: every byte before the file's content, that is the fields
//! and the file part's own headers (RFC 7578, RFC 2046 §5.1.1):
//!
//! ```text
//! --B CRLF  Content-Disposition: form-data; name="key" CRLF CRLF  <value> CRLF
//! --B CRLF  Content-Disposition: form-data; name="policy" CRLF CRLF  <value> CRLF
//! --B CRLF  Content-Disposition: form-data; name="file"; filename="a.jpg" CRLF
//!           Content-Type: image/jpeg CRLF CRLF                       <- the head ends here
//! <file content> CRLF --B-- CRLF
//! ```
//!
//! `HeadParser` reads it incrementally from the pieces of the body, holding it (bounded by a
//! limit, reserved from the VM's memory budget) until the file part's headers end; `FormHead`
//! is the result: the bytes, each field's name and where its value lies, the file's name. A
//! rewrite for the origin changes values, drops or adds fields, and leaves every other byte as
//! the client sent it.
//!
//! Origins do not all find the file the same way: S3 takes the part named `file`, others (s3s,
//! and so RustFS) the first part with a `filename`. A form where the two differ (every part
//! with a `filename`, as `requests` writes it for s3-tests; a `file` part without one, as a
//! text area sends it) would let such an origin store another part, or read fields after the
//! file that were never verified. `normalising_edits` removes the difference: fields lose their
//! `filename`, and a `file` part without one gets `filename=""` (S3 then replaces `${filename}`
//! with nothing, as AWS documents it, and that is how this module verifies it); a file part
//! named `File` or `FILE` is named `file`, for origins that compare the name exactly; and a
//! file name with a path (`dir/a.txt`) is cut to its base name, which S3
//! puts in place of `${filename}` and this module verifies, while Garage used the whole (an
//! attack run, 2026-12-01: checked as `uploads/a.txt`, stored as `uploads/dir/a.txt`).
//!
//! The reading is strict where a lenient reader and the origin could disagree: the body opens
//! with `--B` (no preamble), lines end with CRLF, a boundary is followed by exactly CRLF or
//! `--` (no transport padding), and every part has exactly the headers `part_headers` allows.
//! No part before the file holds `--B` anywhere but at its start: Go's reader (MinIO,
//! SeaweedFS) also takes `--B` at the very start of a part's content for a boundary (an empty
//! part), without the CRLF this module looks for, and Ceph RGW splits at `--B` wherever it is;
//! either would find parts inside what this module read as one field's value.

use super::boundary::Boundary;
use super::fields::{base_name, FILE};
use super::part_headers;
use crate::client_net::ClientNet;
use crate::memory_budget::{self, MemoryBudget, Reservation, Waiting};
use std::fmt;
use std::ops::Range;
use std::rc::Rc;

/// A field before the file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Field {
    /// As sent.
    name: String,
    value: Range<usize>,
    /// The whole part, from its `--B` to the next part's `--B`.
    part: Range<usize>,
    /// Its header lines, without the CRLF CRLF that ends them.
    headers: Range<usize>,
}

/// The part named `file`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FilePart {
    /// As sent.
    name: String,
    filename: Option<Vec<u8>>,
    content_type: Option<Vec<u8>>,
    /// Where its `--B` starts.
    part_start: usize,
    headers: Range<usize>,
}

pub struct FormHead {
    bytes: Vec<u8>,
    boundary: Boundary,
    fields: Vec<Field>,
    /// Each field's folded name and index, sorted: finding a field, or a name sent twice, is
    /// a search, not a scan. A head of 64 KiB, which anyone may send, holds over a thousand
    /// fields, and a policy as many conditions: compared pair by pair they took milliseconds.
    by_name: Vec<(String, usize)>,
    file: FilePart,
}

/// A change to the form for the origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Replaces the value of the field named `name` (any case).
    Set { name: &'static str, value: Vec<u8> },
    /// Drops the field named `name` (any case).
    Remove { name: &'static str },
    /// Adds a field just before the file.
    Add { name: &'static str, value: Vec<u8> },
    /// Replaces the header lines of a part.
    Headers { part: Part, headers: Vec<u8> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The field at this index of `fields()`.
    Field(usize),
    File,
}

impl FormHead {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The fields before the file, `(name as sent, value)`, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|f| {
            (
                f.name.as_str(),
                self.bytes.get(f.value.clone()).unwrap_or_default(),
            )
        })
    }

    /// The value of the first field named `name`, in any case.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        let name = name.to_ascii_lowercase();
        let first = self.by_name.partition_point(|(n, _)| *n < name);
        let (found, i) = self.by_name.get(first)?;
        let field = self.fields.get(*i).filter(|_| *found == name)?;
        Some(self.bytes.get(field.value.clone()).unwrap_or_default())
    }

    pub fn has(&self, name: &str) -> bool {
        self.value(name).is_some()
    }

    /// The first name sent more than once (in any case), if any.
    pub fn repeated(&self) -> Option<&str> {
        self.by_name
            .windows(2)
            .filter(|pair| pair[0].0 == pair[1].0)
            .map(|pair| pair[0].1)
            .min()
            .and_then(|i| self.fields.get(i))
            .map(|f| f.name.as_str())
    }

    /// The `filename` parameter as sent, empty when there is none. The origin gets its base
    /// name (`normalising_edits`), which is what S3 puts in place of `${filename}`.
    pub fn filename(&self) -> &[u8] {
        self.file.filename.as_deref().unwrap_or_default()
    }

    /// What makes every origin read the parts as this module did: each part's header lines as
    /// browsers write them (fields without `filename`; the file part named `file` in lower case,
    /// which MinIO compares exactly, with a `filename` that is a base name), wherever they were
    /// written otherwise, since origins parse dispositions differently (a TAB after an unquoted
    /// file name ended it here and was part of it at Garage: a review, 2026-12-01). Empty for
    /// forms as browsers and SDKs write them.
    pub fn normalising_edits(&self) -> Vec<Edit> {
        let sent = |range: &Range<usize>| self.bytes.get(range.clone()).unwrap_or_default();
        let mut edits: Vec<Edit> = self
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                // Without its `Content-Type`, whose `charset` Garage would decode the value by
                // (`iso-2022-jp` made `..` of other bytes, a review found): UTF-8, as checked.
                let headers = as_browsers_write(&f.name, None, None);
                (sent(&f.headers) != headers.as_slice()).then_some(Edit::Headers {
                    part: Part::Field(i),
                    headers,
                })
            })
            .collect();
        let base = base_name(self.filename());
        let headers = as_browsers_write(FILE, Some(base), self.file.content_type.as_deref());
        if sent(&self.file.headers) != headers.as_slice() {
            edits.push(Edit::Headers {
                part: Part::File,
                headers,
            });
        }
        edits
    }

    fn named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Field> {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
    }

    /// The head with `edits` applied; every other byte stays as sent.
    pub fn rewrite(&self, edits: &[Edit]) -> Vec<u8> {
        // (range replaced, replacement), in order of position.
        let mut splices: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        let mut added = Vec::new();
        for edit in edits {
            match edit {
                Edit::Set { name, value } => {
                    for f in self.named(name) {
                        splices.push((f.value.clone(), value.clone()));
                    }
                }
                Edit::Remove { name } => {
                    for f in self.named(name) {
                        splices.push((f.part.clone(), Vec::new()));
                    }
                }
                Edit::Add { name, value } => {
                    added.extend_from_slice(&self.boundary.dash_boundary());
                    added.extend_from_slice(b"\r\n");
                    added.extend_from_slice(&disposition(name, None));
                    added.extend_from_slice(b"\r\n\r\n");
                    added.extend_from_slice(value);
                    added.extend_from_slice(b"\r\n");
                }
                Edit::Headers { part, headers } => {
                    let range = match part {
                        Part::Field(i) => self.fields.get(*i).map(|f| f.headers.clone()),
                        Part::File => Some(self.file.headers.clone()),
                    };
                    if let Some(range) = range {
                        splices.push((range, headers.clone()));
                    }
                }
            }
        }
        if !added.is_empty() {
            let at = self.file.part_start;
            splices.push((at..at, added));
        }
        crate::sort::sort_by_key(&mut splices, |(range, _)| (range.start, range.end));
        let mut out = Vec::with_capacity(self.bytes.len() + 1024);
        let mut at = 0;
        for (range, replacement) in splices {
            if range.start < at {
                // Overlapping edits (a value set in a field also removed): the removal wins.
                continue;
            }
            out.extend_from_slice(self.bytes.get(at..range.start).unwrap_or_default());
            out.extend_from_slice(&replacement);
            at = range.end;
        }
        out.extend_from_slice(self.bytes.get(at..).unwrap_or_default());
        out
    }
}

/// A part's header lines as browsers write them: the disposition, then any `Content-Type`.
fn as_browsers_write(name: &str, filename: Option<&[u8]>, content_type: Option<&[u8]>) -> Vec<u8> {
    let mut headers = disposition(name, filename);
    if let Some(content_type) = content_type {
        headers.extend_from_slice(b"\r\nContent-Type: ");
        headers.extend_from_slice(content_type);
    }
    headers
}

/// `Content-Disposition: form-data; name="…"[; filename="…"]`, as browsers write it. Names
/// and file names come from quoted strings without `"`, `\\`, CR or LF.
fn disposition(name: &str, filename: Option<&[u8]>) -> Vec<u8> {
    let mut line = b"Content-Disposition: form-data; name=\"".to_vec();
    line.extend_from_slice(name.as_bytes());
    line.push(b'"');
    if let Some(filename) = filename {
        line.extend_from_slice(b"; filename=\"");
        line.extend_from_slice(filename);
        line.push(b'"');
    }
    line
}

/// Never prints values: the form carries a signature, valid until the policy expires.
impl fmt::Debug for FormHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        f.debug_struct("FormHead")
            .field("len", &self.bytes.len())
            .field("fields", &names)
            .field(
                "filename",
                &self.file.filename.as_deref().map(String::from_utf8_lossy),
            )
            .finish()
    }
}

/// Why a head cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    Malformed(&'static str),
    /// Over the limit before the file part's headers ended.
    TooLarge,
    /// The form ended without a part named `file`.
    NoFile,
    /// Holding more would exceed the VM's memory budget.
    OverBudget,
}

/// How far a push got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// All of the input is held; the head goes on in the next piece.
    NeedMore,
    /// The head ended after `used` bytes of the input; the rest is the file's content.
    Complete { used: usize },
}

enum State {
    /// Expecting `--B CRLF` at the start of the body.
    Opening,
    Headers(PartHeaders),
    Value(FieldValue),
    Done(FilePart),
    Failed,
}

/// Reading a part's headers, which start at `headers_start`.
struct PartHeaders {
    part_start: usize,
    headers_start: usize,
    scan_from: usize,
}

/// Reading a field's value, up to the next delimiter.
struct FieldValue {
    part_start: usize,
    name: String,
    headers: Range<usize>,
    value_start: usize,
    scan_from: usize,
}

/// What one step of reading the held bytes came to.
enum Step {
    /// The next state is set: read on.
    Read,
    /// The held bytes end first; the state is kept, to go on from where it stopped.
    NeedMore,
    /// The file's content starts here: the head is complete.
    FileAt(usize),
}

pub struct HeadParser {
    boundary: Boundary,
    dash: Vec<u8>,
    delimiter: Vec<u8>,
    limit: usize,
    buf: Vec<u8>,
    /// What the request's waiting headers are charged (`wait_with_headers`).
    waiting: Option<Rc<Waiting>>,
    reservation: Reservation,
    fields: Vec<Field>,
    state: State,
}

impl HeadParser {
    pub fn new(boundary: Boundary, limit: usize, budget: Rc<MemoryBudget>) -> Self {
        HeadParser {
            dash: boundary.dash_boundary(),
            delimiter: boundary.delimiter(),
            boundary,
            limit,
            buf: Vec::new(),
            waiting: None,
            // Held before the signature is checked: from the share of unverified streams.
            reservation: Reservation::new(budget).owned_by(memory_budget::UNVERIFIED),
            fields: Vec::new(),
            state: State::Opening,
        }
    }

    /// The most bytes the head may have.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.buf.len()
    }

    /// Charges `bytes` for the request headers, which wait (in Envoy, outside the VM) until
    /// the head is verified, to the unverified streams' share: anyone can open a form and
    /// send nothing (`MemoryBudget::charge_waiting`). `false` when the share cannot take them.
    pub fn wait_with_headers(&mut self, bytes: usize, from: Option<ClientNet>) -> bool {
        self.waiting = self.reservation.budget().charge_waiting(bytes, from);
        self.waiting.is_some()
    }

    /// What the waiting headers are charged, unless taken back.
    pub fn waiting(&self) -> usize {
        self.waiting
            .as_ref()
            .filter(|w| !w.taken_back())
            .map_or(0, |w| w.bytes())
    }

    /// The waiting headers' charge, for the stream's hold to tell when it is taken back.
    pub fn waiting_charge(&self) -> Option<&Rc<Waiting>> {
        self.waiting.as_ref()
    }

    /// Bytes of the budget reserved for what is held, and charged for the waiting headers.
    pub fn reserved(&self) -> usize {
        self.reservation.bytes().saturating_add(self.waiting())
    }

    /// Takes the next piece of the body: holds what belongs to the head (never more than the
    /// limit), and says whether the head is complete.
    pub fn push(&mut self, input: &[u8]) -> Result<Progress, HeadError> {
        let result = self.push_inner(input);
        if result.is_err() {
            self.state = State::Failed;
            self.buf = Vec::new();
            self.waiting = None;
            self.reservation.resize(0);
        }
        result
    }

    /// The head, once `push` said it is complete.
    pub fn into_head(self) -> Option<FormHead> {
        match self.state {
            State::Done(file) => {
                let mut by_name: Vec<(String, usize)> = self
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
                    .collect();
                crate::sort::sort(&mut by_name);
                Some(FormHead {
                    bytes: self.buf,
                    boundary: self.boundary,
                    fields: self.fields,
                    by_name,
                    file,
                })
            }
            _ => None,
        }
    }

    fn push_inner(&mut self, input: &[u8]) -> Result<Progress, HeadError> {
        if matches!(self.state, State::Done(_) | State::Failed) {
            return Err(HeadError::Malformed("the form's head was already read"));
        }
        if self.waiting.as_ref().is_some_and(|w| w.taken_back()) {
            return Err(HeadError::OverBudget);
        }
        let room = self.limit.saturating_sub(self.buf.len());
        let take = input.get(..room.min(input.len())).unwrap_or_default();
        self.grow(take.len())?;
        let before = self.buf.len();
        self.buf.extend_from_slice(take);
        if let Some(waiting) = &self.waiting {
            waiting.arrived(self.buf.len());
        }
        match self.advance()? {
            Some(end) => {
                self.buf.truncate(end);
                Ok(Progress::Complete {
                    used: end.saturating_sub(before),
                })
            }
            None if take.len() < input.len() => Err(HeadError::TooLarge),
            None => Ok(Progress::NeedMore),
        }
    }

    /// Reserves, then allocates, room for `more` bytes (fallibly: a VM out of memory refuses
    /// the upload rather than trapping).
    fn grow(&mut self, more: usize) -> Result<(), HeadError> {
        let needed = self.buf.len().saturating_add(more);
        if needed <= self.buf.capacity() {
            return Ok(());
        }
        let capacity = self
            .buf
            .capacity()
            .saturating_mul(2)
            .min(self.limit)
            .max(needed);
        if !self
            .reservation
            .resize_taking_back(capacity, self.waiting.as_ref())
        {
            return Err(HeadError::OverBudget);
        }
        self.buf
            .try_reserve_exact(capacity - self.buf.len())
            .map_err(|_| HeadError::OverBudget)
    }

    /// Parses as far as the held bytes allow; the end of the head once it is complete.
    fn advance(&mut self) -> Result<Option<usize>, HeadError> {
        loop {
            // Each step sets the state it leaves; one that fails leaves `Failed`.
            let step = match std::mem::replace(&mut self.state, State::Failed) {
                State::Opening => self.opening(),
                State::Headers(part) => self.part_headers(part),
                State::Value(field) => self.field_value(field),
                State::Done(_) | State::Failed => {
                    Err(HeadError::Malformed("the form's head was already read"))
                }
            }?;
            match step {
                Step::Read => {}
                Step::NeedMore => return Ok(None),
                Step::FileAt(start) => return Ok(Some(start)),
            }
        }
    }

    fn opening(&mut self) -> Result<Step, HeadError> {
        let open = self.dash.len() + 2;
        let seen = self.buf.get(..self.buf.len().min(self.dash.len()));
        let expected = self.dash.get(..seen.map_or(0, <[u8]>::len));
        if seen != expected {
            return Err(HeadError::Malformed(
                "the body does not open with the boundary",
            ));
        }
        let Some(after) = self.buf.get(self.dash.len()..open) else {
            self.state = State::Opening;
            return Ok(Step::NeedMore);
        };
        match after {
            b"\r\n" => {
                self.state = State::Headers(PartHeaders {
                    part_start: 0,
                    headers_start: open,
                    scan_from: open,
                });
                Ok(Step::Read)
            }
            b"--" => Err(HeadError::NoFile),
            _ => Err(after_boundary()),
        }
    }

    fn part_headers(&mut self, mut part: PartHeaders) -> Result<Step, HeadError> {
        let PartHeaders {
            part_start,
            headers_start,
            scan_from,
        } = part;
        match self.buf.get(headers_start..headers_start + 2) {
            None => {
                self.state = State::Headers(part);
                return Ok(Step::NeedMore);
            }
            Some(b"\r\n") => return Err(HeadError::Malformed("a part has no headers")),
            Some(_) => {}
        }
        let Some(end) = find(&self.buf, b"\r\n\r\n", scan_from) else {
            part.scan_from = self.buf.len().saturating_sub(3).max(headers_start);
            self.state = State::Headers(part);
            return Ok(Step::NeedMore);
        };
        let block = self.buf.get(headers_start..end).unwrap_or_default();
        if find(block, &self.dash, 0).is_some() {
            return Err(holds_the_boundary());
        }
        let headers = part_headers::parse(block).map_err(HeadError::Malformed)?;
        let value_start = end + 4;
        if headers.name.eq_ignore_ascii_case(FILE) {
            self.state = State::Done(FilePart {
                name: headers.name,
                filename: headers.filename,
                content_type: headers.content_type,
                part_start,
                headers: headers_start..end,
            });
            return Ok(Step::FileAt(value_start));
        }
        self.state = State::Value(FieldValue {
            part_start,
            name: headers.name,
            headers: headers_start..end,
            value_start,
            scan_from: value_start,
        });
        Ok(Step::Read)
    }

    fn field_value(&mut self, mut field: FieldValue) -> Result<Step, HeadError> {
        let Some(at) = find(&self.buf, &self.delimiter, field.scan_from) else {
            let partial = self.delimiter.len() - 1;
            field.scan_from = self
                .buf
                .len()
                .saturating_sub(partial)
                .max(field.value_start);
            self.state = State::Value(field);
            return Ok(Step::NeedMore);
        };
        let after = at + self.delimiter.len();
        let Some(next) = self.buf.get(after..after + 2) else {
            field.scan_from = at;
            self.state = State::Value(field);
            return Ok(Step::NeedMore);
        };
        let value = self.buf.get(field.value_start..at).unwrap_or_default();
        if find(value, &self.dash, 0).is_some() {
            return Err(holds_the_boundary());
        }
        // Read as UTF-8 text here; Garage decodes a value (by a byte-order mark, else as UTF-8
        // with replacement), so anything else would be another value there than the one
        // checked (a review, 2026-12-01).
        if std::str::from_utf8(value).is_err() || value.starts_with(UTF8_BOM) {
            return Err(HeadError::Malformed(
                "a field's value is not UTF-8 text (or opens with a byte-order mark)",
            ));
        }
        match next {
            b"\r\n" => {
                self.fields.push(Field {
                    name: field.name,
                    value: field.value_start..at,
                    part: field.part_start..at + 2,
                    headers: field.headers,
                });
                self.state = State::Headers(PartHeaders {
                    part_start: at + 2,
                    headers_start: after + 2,
                    scan_from: after + 2,
                });
                Ok(Step::Read)
            }
            b"--" => Err(HeadError::NoFile),
            _ => Err(after_boundary()),
        }
    }
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

fn holds_the_boundary() -> HeadError {
    HeadError::Malformed("a part holds the boundary, which some origins read as a new part")
}

fn after_boundary() -> HeadError {
    HeadError::Malformed("a boundary is followed by something other than CRLF or --")
}

/// The first position at or after `from` where `needle` starts in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut at = from;
    loop {
        let rest = haystack.get(at..)?;
        let offset = rest.iter().position(|&b| b == first)?;
        let start = at + offset;
        if haystack.get(start..start + needle.len())? == needle {
            return Some(start);
        }
        at = start + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "XyZ";

    fn parser(limit: usize) -> HeadParser {
        HeadParser::new(
            Boundary::new(B.as_bytes()).unwrap(),
            limit,
            MemoryBudget::new(1 << 20),
        )
    }

    fn body(parts: &[(&str, &str)], file: &str) -> String {
        let mut body = String::new();
        for (name, value) in parts {
            body.push_str(&format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n{file}\r\n--{B}--\r\n"
        ));
        body
    }

    /// The head of `body` as the origin gets it, normalised.
    fn normalised(body: &str) -> String {
        let (head, _) = head_of(body);
        String::from_utf8(head.rewrite(&head.normalising_edits())).unwrap()
    }

    fn head_of(body: &str) -> (FormHead, usize) {
        let mut p = parser(64 * 1024);
        match p.push(body.as_bytes()).unwrap() {
            Progress::Complete { used } => (p.into_head().unwrap(), used),
            Progress::NeedMore => panic!("incomplete"),
        }
    }

    #[test]
    fn reads_fields_and_stops_at_the_file() {
        let text = body(
            &[
                ("key", "a/${filename}"),
                ("Policy", "e30="),
                ("x-amz-meta-x", ""),
            ],
            "content",
        );
        let (head, used) = head_of(&text);
        assert_eq!(&text[used..], "content\r\n--XyZ--\r\n");
        assert_eq!(head.bytes().len(), used);
        let fields: Vec<(&str, &[u8])> = head.fields().collect();
        assert_eq!(
            fields,
            [
                ("key", &b"a/${filename}"[..]),
                ("Policy", b"e30="),
                ("x-amz-meta-x", b"")
            ]
        );
        assert_eq!(head.value("POLICY"), Some(&b"e30="[..]));
        assert_eq!(head.filename(), b"a.txt");
        assert_eq!(head.repeated(), None);
        assert!(!format!("{head:?}").contains("e30="));
    }

    #[test]
    fn names_the_first_field_sent_twice_in_any_case() {
        let names: Vec<String> = (0..1000).map(|i| format!("x-ignore-{i}")).collect();
        let mut parts: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
        parts.push(("X-Ignore-7", ""));
        parts.push(("x-ignore-3", ""));
        let (head, _) = head_of(&body(&parts, "c"));
        assert_eq!(head.repeated(), Some("x-ignore-3"));
        let (head, _) = head_of(&body(&parts[..1001], "c"));
        assert_eq!(head.repeated(), Some("x-ignore-7"));
        let (head, _) = head_of(&body(&parts[..1000], "c"));
        assert_eq!(head.repeated(), None);
    }

    /// Go reads `--B` opening a part's content as a boundary (the part is empty), and Ceph RGW
    /// `--B` anywhere: a value holding it would be a field to this module and parts to them.
    #[test]
    fn a_part_holding_the_boundary_is_refused() {
        let hidden = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"acl\"\r\n\r\npublic-read-write"
        );
        for value in [hidden.as_str(), "a--XyZ", "--XyZ", "a --XyZ-- b"] {
            let text = body(&[("key", "k"), ("x-ignore-a", value)], "c");
            let mut p = parser(64 * 1024);
            assert_eq!(
                p.push(text.as_bytes()).err(),
                Some(HeadError::Malformed(
                    "a part holds the boundary, which some origins read as a new part"
                )),
                "{value:?}"
            );
        }
        let text = body(&[("key", "k")], "c").replace("a.txt", "--XyZ.txt");
        assert!(parser(64 * 1024).push(text.as_bytes()).is_err());
        // Near misses are values like any other.
        let text = body(&[("x-ignore-a", "-XyZ --Xy Z -\r\n-XyZ")], "c");
        assert!(parser(64 * 1024).push(text.as_bytes()).is_ok());
    }

    #[test]
    fn reads_the_same_at_every_split() {
        let text = body(
            &[
                ("key", "k"),
                ("acl", "private"),
                ("v", "a\r\n--XyY\r\n-XyZ-XyZ\r\n--X"),
            ],
            "c",
        );
        let (whole, used) = head_of(&text);
        let bytes = text.as_bytes();
        for split in 0..=bytes.len() {
            let mut p = parser(64 * 1024);
            let (a, b) = bytes.split_at(split);
            let progress = match p.push(a).unwrap() {
                Progress::NeedMore => match p.push(b).unwrap() {
                    Progress::Complete { used } => split + used,
                    Progress::NeedMore => panic!("split {split}: incomplete"),
                },
                Progress::Complete { used } => used,
            };
            assert_eq!(progress, used, "split {split}");
            let head = p.into_head().unwrap();
            assert_eq!(head.bytes(), whole.bytes(), "split {split}");
        }
        // A byte at a time.
        let mut p = parser(64 * 1024);
        let mut done = None;
        for (i, byte) in bytes.iter().enumerate() {
            if let Progress::Complete { used } = p.push(&[*byte]).unwrap() {
                done = Some(i + used);
                break;
            }
        }
        assert_eq!(done, Some(used));
    }

    #[test]
    fn the_limit_counts_everything_before_the_file_content() {
        let text = body(&[("key", "k")], "content");
        let (_, used) = head_of(&text);
        let mut exact = parser(used);
        assert_eq!(exact.push(text.as_bytes()), Ok(Progress::Complete { used }));
        let mut short = parser(used - 1);
        assert_eq!(short.push(text.as_bytes()), Err(HeadError::TooLarge));
        let mut short = parser(used - 1);
        assert_eq!(
            short.push(&text.as_bytes()[..used - 1]),
            Ok(Progress::NeedMore)
        );
        assert_eq!(
            short.push(&text.as_bytes()[used - 1..]),
            Err(HeadError::TooLarge)
        );
        assert!(short.held() == 0);
    }

    #[test]
    fn holding_takes_from_the_budget() {
        let budget = MemoryBudget::new(5000);
        let text = body(&[("x-ignore-pad", &"p".repeat(6000))], "c");
        let mut p = HeadParser::new(
            Boundary::new(B.as_bytes()).unwrap(),
            64 * 1024,
            budget.clone(),
        );
        assert_eq!(p.push(text.as_bytes()), Err(HeadError::OverBudget));
        assert_eq!(budget.used(), 0);
        let mut p = HeadParser::new(
            Boundary::new(B.as_bytes()).unwrap(),
            64 * 1024,
            budget.clone(),
        );
        assert_eq!(p.push(b"--XyZ\r\n"), Ok(Progress::NeedMore));
        // What arrived, not a round 4 KiB: a third red team's 2,048 one-byte forms held
        // 8 MiB so (2026-12-02).
        assert_eq!(budget.used(), 7);
        drop(p);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn the_waiting_request_headers_count_with_the_fields() {
        let budget = MemoryBudget::new(5000);
        let mut p = HeadParser::new(
            Boundary::new(B.as_bytes()).unwrap(),
            64 * 1024,
            budget.clone(),
        );
        assert!(!p.wait_with_headers(5001, None));
        assert!(p.wait_with_headers(4000, None));
        assert_eq!((p.waiting(), p.held(), budget.used()), (4000, 0, 4000));
        assert_eq!(p.push(b"--XyZ\r\n"), Ok(Progress::NeedMore));
        assert_eq!(budget.used(), 4007);
        // The fields grow within what is left.
        assert_eq!(p.push(&[b'x'; 994]), Err(HeadError::OverBudget));
        assert_eq!(budget.used(), 0, "a failed head gives all back");
        let mut p = HeadParser::new(
            Boundary::new(B.as_bytes()).unwrap(),
            64 * 1024,
            budget.clone(),
        );
        assert!(p.wait_with_headers(100, None));
        assert_eq!(p.push(b"--XyZ\r\n"), Ok(Progress::NeedMore));
        assert!(p.wait_with_headers(50, None));
        assert_eq!(budget.used(), 57);
        drop(p);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_head_whose_charge_was_taken_back_reads_no_more() {
        // The second form's charge takes the first's from the forms' share, and the first's
        // fields, arriving after, are refused, never held.
        let budget = MemoryBudget::shared(10_000, 10_000, 5000);
        let parser = || {
            HeadParser::new(
                Boundary::new(B.as_bytes()).unwrap(),
                64 * 1024,
                budget.clone(),
            )
        };
        let (mut first, mut second) = (parser(), parser());
        assert!(first.wait_with_headers(3000, None));
        assert!(second.wait_with_headers(3000, None));
        assert!(first.waiting_charge().unwrap().taken_back());
        assert_eq!(first.reserved(), 0);
        let text = body(&[("key", "a")], "c");
        assert_eq!(first.push(text.as_bytes()), Err(HeadError::OverBudget));
        assert_eq!(first.held(), 0);
        assert!(matches!(
            second.push(text.as_bytes()),
            Ok(Progress::Complete { .. })
        ));
    }

    /// The buffer never holds more room than the budget was asked for: growing it reserves
    /// `capacity` and allocates the room up to it, not that much again on top of what is held
    /// (`capacity - len` made `+` passed every test: the first growth starts from nothing).
    #[test]
    fn what_is_held_never_exceeds_what_was_reserved() {
        let budget = MemoryBudget::new(1 << 20);
        let mut p = HeadParser::new(
            Boundary::new(B.as_bytes()).unwrap(),
            64 * 1024,
            budget.clone(),
        );
        assert_eq!(p.push(b"--XyZ\r\n"), Ok(Progress::NeedMore));
        let value = format!(
            "Content-Disposition: form-data; name=\"x-ignore-pad\"\r\n\r\n{}",
            "p".repeat(4096)
        );
        assert_eq!(p.push(value.as_bytes()), Ok(Progress::NeedMore));
        assert_eq!(p.held(), 7 + value.len());
        assert_eq!(budget.used(), 7 + value.len());
        assert_eq!(p.push(b"pp"), Ok(Progress::NeedMore));
        assert_eq!(budget.used(), 2 * (7 + value.len()));
        assert!(p.buf.capacity() <= budget.used(), "{}", p.buf.capacity());
    }

    #[test]
    fn refuses_forms_an_origin_could_read_otherwise() {
        let ok = body(&[("key", "k")], "c");
        for (bad, want) in [
            (
                "\r\n--XyZ\r\n",
                HeadError::Malformed("the body does not open with the boundary"),
            ),
            (
                "preamble\r\n--XyZ\r\n",
                HeadError::Malformed("the body does not open with the boundary"),
            ),
            (
                "--XyZ \r\n",
                HeadError::Malformed("a boundary is followed by something other than CRLF or --"),
            ),
            ("--XyZ--\r\n", HeadError::NoFile),
            (
                "--XyZ\r\n\r\nvalue\r\n",
                HeadError::Malformed("a part has no headers"),
            ),
            (
                "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--XyZ--\r\n",
                HeadError::NoFile,
            ),
            (
                "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--XyZx\r\n",
                HeadError::Malformed("a boundary is followed by something other than CRLF or --"),
            ),
        ] {
            assert_eq!(parser(1024).push(bad.as_bytes()), Err(want), "{bad:?}");
        }
        let lf_only = ok.replace("\r\n", "\n");
        assert!(parser(1024).push(lf_only.as_bytes()).is_err());
    }

    #[test]
    fn rewrites_values_removes_and_adds_fields() {
        let text = body(
            &[
                ("key", "k"),
                ("AWSAccessKeyId", "CK"),
                ("Signature", "sig"),
                ("policy", "p"),
            ],
            "c",
        );
        let (head, _) = head_of(&text);
        let out = head.rewrite(&[
            Edit::Set {
                name: "policy",
                value: b"new-policy".to_vec(),
            },
            Edit::Remove {
                name: "awsaccesskeyid",
            },
            Edit::Remove { name: "signature" },
            Edit::Add {
                name: "x-amz-date",
                value: b"20260101T000000Z".to_vec(),
            },
        ]);
        let expected = body(
            &[
                ("key", "k"),
                ("policy", "new-policy"),
                ("x-amz-date", "20260101T000000Z"),
            ],
            "c",
        );
        let (expected_head, _) = head_of(&expected);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(expected_head.into_bytes()).unwrap()
        );
        assert_eq!(head.rewrite(&[]), head.bytes());
    }

    #[test]
    fn forms_where_origins_would_find_another_file_are_normalised() {
        // s3-tests through requests: a filename on every part.
        let every = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"key\"; filename=\"key\"\r\n\r\nk\r\n\
             --{B}\r\nContent-Disposition: form-data; name=\"acl\"\r\nContent-Type: text/plain\r\n\r\nprivate\r\n\
             --{B}\r\nContent-Disposition: form-data; name=\"policy\"; filename=\"policy\"\r\nContent-Type: text/plain\r\n\r\np\r\n\
             --{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file\"\r\n\r\nc"
        );
        let out = normalised(&every);
        assert_eq!(
            out,
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n\
                 --{B}\r\nContent-Disposition: form-data; name=\"acl\"\r\n\r\nprivate\r\n\
                 --{B}\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\np\r\n\
                 --{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file\"\r\n\r\n"
            )
        );
        // A text area: the file part gets an empty file name, its type stays.
        let text_area = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n\
             --{B}\r\ncontent-type: text/plain\r\nContent-Disposition: form-data; name=File\r\n\r\nc"
        );
        let (head, _) = head_of(&text_area);
        assert_eq!(head.filename(), b"");
        let out = String::from_utf8(head.rewrite(&head.normalising_edits())).unwrap();
        assert!(out.ends_with(&format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\nContent-Type: text/plain\r\n\r\n"
        )));
        // A file part named in another case.
        let upper = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n\
             --{B}\r\nContent-Disposition: form-data; name=\"FILE\"; filename=\"a.txt\"\r\n\r\nc"
        );
        let out = normalised(&upper);
        assert!(out.ends_with("name=\"file\"; filename=\"a.txt\"\r\n\r\n"));
        // A file name with a path: its base name, which `${filename}` is verified as.
        // (A backslash is refused in any quoted value.)
        for path in ["dir/sub/a.txt", "/a.txt"] {
            let with_path = format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n\
                 --{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path}\"\r\nContent-Type: text/plain\r\n\r\nc"
            );
            let out = normalised(&with_path);
            assert!(
                out.ends_with(
                    "name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n"
                ),
                "{out}"
            );
        }
        // Any other spelling of a part's headers is written as browsers write it: a TAB that
        // ends an unquoted file name here was part of it at Garage (a review, 2026-12-01); and
        // what HTTP libraries add (OkHttp's per-part length, Apache's identity encoding,
        // .NET's `filename*`) is dropped.
        let as_browsers_write = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n\
             --{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        );
        let tabbed = format!(
            "--{B}\r\ncontent-disposition: form-data;name=key\r\n\r\nk\r\n\
             --{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=a.txt\t;\r\ncontent-type:  text/plain\r\n\r\nc"
        );
        let libraries = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\nContent-Transfer-Encoding: 8bit\r\nContent-Length: 1\r\n\r\nk\r\n\
             --{B}\r\nContent-Disposition: form-data; name=file; filename=a.txt; filename*=utf-8''a.txt\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nc"
        );
        for form in [tabbed, libraries] {
            assert_eq!(normalised(&form), as_browsers_write, "{form:?}");
        }
        // As browsers and SDKs write forms: nothing to do.
        let (head, _) = head_of(&body(&[("key", "k")], "c"));
        assert!(head.normalising_edits().is_empty());
    }

    #[test]
    fn field_values_are_utf8_text() {
        // Garage decodes a value by its byte-order mark or as UTF-8 with replacement: any
        // other value would be another there than the one checked.
        for value in ["caf\u{e9}", "\u{feff}uploads/a", "\u{fffd}"] {
            let form = body(&[("key", value)], "c");
            let ok = parser(64 * 1024).push(form.as_bytes()).is_ok();
            assert_eq!(ok, !value.starts_with('\u{feff}'), "{value:?}");
        }
        let mut latin1 =
            format!("--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n").into_bytes();
        latin1.extend_from_slice(b"caf\xe9\r\n");
        latin1.extend_from_slice(
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nc"
            )
            .as_bytes(),
        );
        let mut p = parser(1 << 20);
        assert!(matches!(p.push(&latin1), Err(HeadError::Malformed(_))));
    }

    #[test]
    fn finds_needles() {
        assert_eq!(find(b"ab\r\n\r\ncd", b"\r\n\r\n", 0), Some(2));
        assert_eq!(find(b"ab\r\n\r\ncd", b"\r\n\r\n", 3), None);
        assert_eq!(find(b"\r\r\n", b"\r\n", 0), Some(1));
        assert_eq!(find(b"ab", b"", 0), None);
        assert_eq!(find(b"ab", b"b", 9), None);
    }
}

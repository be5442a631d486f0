//! HL7 v2 messages in ER7 ("pipe and hat") encoding: parsing, building, serialising and the
//! ACK answer, as exchanged over MLLP by ITI-8/9/10/21 and the registry's patient identity feed.
//!
//! The structure is message → segments → fields → repetitions → components → subcomponents.
//! Values are stored decoded (escape sequences resolved) and re-escaped when written. Every
//! accessor is 1-based like the standard: `PID-3` is the third field of PID, and `MSH-1` is the
//! field separator itself, `MSH-2` the encoding characters.

use std::time::SystemTime;

/// Bounds applied to every HL7 v2 message parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hl7Limits {
    /// Largest message accepted, in bytes.
    pub max_bytes: usize,
    /// Most segments accepted in one message.
    pub max_segments: usize,
}

impl Default for Hl7Limits {
    fn default() -> Self {
        Hl7Limits {
            max_bytes: 1024 * 1024,
            max_segments: 10_000,
        }
    }
}

/// A malformed HL7 v2 message or an invalid access to one: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HL7 v2 {segment}-{field}: {reason}")]
pub struct Hl7Error {
    /// Segment name (or the offending text when the name itself is invalid).
    pub segment: String,
    /// Field position (0 when the error concerns the whole segment or message).
    pub field: usize,
    pub reason: Hl7ErrorReason,
}

/// Why an HL7 v2 message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hl7ErrorReason {
    #[error("the message does not start with an MSH segment")]
    MissingMsh,
    #[error("invalid encoding characters {0:?}")]
    BadEncodingCharacters(String),
    #[error("invalid segment name")]
    BadSegmentName,
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("more than {limit} segments")]
    TooManySegments { limit: usize },
    #[error("invalid path {0:?} (expected e.g. PID-3, PID(2)-3(1).4.2)")]
    InvalidPath(String),
    #[error("segment not present in the message")]
    SegmentNotFound,
    #[error("MSH-1 and MSH-2 are given by the delimiters and cannot be set")]
    ReadOnlyField,
}

fn error(segment: &str, field: usize, reason: Hl7ErrorReason) -> Hl7Error {
    Hl7Error {
        segment: segment.to_owned(),
        field,
        reason,
    }
}

/// The delimiters of a message, declared by MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
    /// Truncation character (HL7 v2.7+), when declared.
    pub truncation: Option<char>,
}

impl Default for Delimiters {
    /// The customary `|^~\&`.
    fn default() -> Self {
        Delimiters {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
            truncation: None,
        }
    }
}

impl Delimiters {
    /// Delimiters from MSH-1 and the MSH-2 text: four characters (component, repetition,
    /// escape, subcomponent) and an optional fifth (truncation), all distinct and none of them
    /// alphanumeric, whitespace or control characters.
    pub fn new(field: char, encoding_characters: &str) -> Result<Delimiters, Hl7Error> {
        let bad = || {
            error(
                "MSH",
                2,
                Hl7ErrorReason::BadEncodingCharacters(format!("{field}{encoding_characters}")),
            )
        };
        let chars: Vec<char> = encoding_characters.chars().collect();
        if !(4..=5).contains(&chars.len()) {
            return Err(bad());
        }
        let mut all = chars.clone();
        all.push(field);
        for (i, c) in all.iter().enumerate() {
            if c.is_alphanumeric() || c.is_whitespace() || c.is_control() || all[..i].contains(c) {
                return Err(bad());
            }
        }
        Ok(Delimiters {
            field,
            component: chars[0],
            repetition: chars[1],
            escape: chars[2],
            subcomponent: chars[3],
            truncation: chars.get(4).copied(),
        })
    }

    /// The MSH-2 text: `^~\&` for the defaults.
    pub fn encoding_characters(&self) -> String {
        let mut out: String = [
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ]
        .iter()
        .collect();
        if let Some(t) = self.truncation {
            out.push(t);
        }
        out
    }

    /// `text` with every delimiter, the escape character and line breaks escaped.
    pub fn escape(&self, text: &str) -> String {
        let e = self.escape;
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            let code = match c {
                _ if c == e => "E",
                _ if c == self.field => "F",
                _ if c == self.component => "S",
                _ if c == self.subcomponent => "T",
                _ if c == self.repetition => "R",
                _ if Some(c) == self.truncation => "P",
                '\r' => "X0D",
                '\n' => "X0A",
                _ => {
                    out.push(c);
                    continue;
                }
            };
            out.push(e);
            out.push_str(code);
            out.push(e);
        }
        out
    }

    /// `text` with its escape sequences decoded: `\F\ \S\ \T\ \R\ \E\ \P\`, `\Xhh..\` (bytes,
    /// read as UTF-8, else ISO-8859-1); highlighting `\H\ \N\` is dropped; other sequences
    /// (formatting such as `\.br\`, charset switches) and an unterminated escape are kept as is.
    pub fn unescape(&self, text: &str) -> String {
        let e = self.escape;
        if !text.contains(e) {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(e) {
            out.push_str(&rest[..start]);
            let after = &rest[start + e.len_utf8()..];
            let Some(end) = after.find(e) else {
                out.push_str(&rest[start..]);
                return out;
            };
            let sequence = &after[..end];
            match sequence {
                "F" => out.push(self.field),
                "S" => out.push(self.component),
                "T" => out.push(self.subcomponent),
                "R" => out.push(self.repetition),
                "E" => out.push(e),
                "P" if self.truncation.is_some() => out.extend(self.truncation),
                "H" | "N" => {}
                _ => match decode_hex(sequence) {
                    Some(decoded) => out.push_str(&decoded),
                    None => {
                        out.push(e);
                        out.push_str(sequence);
                        out.push(e);
                    }
                },
            }
            rest = &after[end + e.len_utf8()..];
        }
        out.push_str(rest);
        out
    }
}

fn decode_hex(sequence: &str) -> Option<String> {
    let hex = sequence.strip_prefix('X')?;
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(decode_text(&bytes))
}

/// UTF-8 when valid, otherwise ISO-8859-1 (every byte is a code point).
fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// One component: its subcomponents, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    subcomponents: Vec<String>,
}

impl Component {
    /// A component of one subcomponent.
    pub fn new(value: impl Into<String>) -> Component {
        Component {
            subcomponents: vec![value.into()],
        }
    }

    pub fn subcomponents(&self) -> &[String] {
        &self.subcomponents
    }

    /// Subcomponent `n` (1-based).
    pub fn subcomponent(&self, n: usize) -> Option<&str> {
        n.checked_sub(1)
            .and_then(|i| self.subcomponents.get(i))
            .map(String::as_str)
    }

    /// The first subcomponent ("" when empty).
    pub fn value(&self) -> &str {
        self.subcomponent(1).unwrap_or_default()
    }
}

/// One repetition of a field: its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repetition {
    components: Vec<Component>,
}

impl Repetition {
    /// A repetition made of these plain-text components.
    pub fn from_components<S: AsRef<str>>(components: &[S]) -> Repetition {
        Repetition {
            components: components
                .iter()
                .map(|c| Component::new(c.as_ref()))
                .collect(),
        }
    }

    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Component `n` (1-based).
    pub fn component(&self, n: usize) -> Option<&Component> {
        n.checked_sub(1).and_then(|i| self.components.get(i))
    }

    /// The first subcomponent of component `n` ("" when absent).
    pub fn value(&self, n: usize) -> &str {
        self.component(n).map(Component::value).unwrap_or_default()
    }

    /// This repetition in ER7 with `delimiters` (e.g. a CX for an XDS patient id with the
    /// default delimiters: `123^^^&1.2.3&ISO`).
    pub fn encode(&self, delimiters: &Delimiters) -> String {
        let mut out = String::new();
        encode_repetition(&mut out, self, delimiters);
        out
    }
}

/// One field: its repetitions (none when the field is empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    repetitions: Vec<Repetition>,
}

impl Field {
    /// A field holding one plain-text value.
    pub fn new(value: impl Into<String>) -> Field {
        Field {
            repetitions: vec![Repetition {
                components: vec![Component::new(value)],
            }],
        }
    }

    /// A field with these repetitions.
    pub fn from_repetitions(repetitions: Vec<Repetition>) -> Field {
        Field { repetitions }
    }

    /// A field parsed from its ER7 text (delimited and escaped with `delimiters`).
    pub fn parse(text: &str, delimiters: &Delimiters) -> Field {
        if text.is_empty() {
            return Field::default();
        }
        let repetitions = text
            .split(delimiters.repetition)
            .map(|rep| Repetition {
                components: rep
                    .split(delimiters.component)
                    .map(|comp| Component {
                        subcomponents: comp
                            .split(delimiters.subcomponent)
                            .map(|sub| delimiters.unescape(sub))
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        Field { repetitions }
    }

    pub fn repetitions(&self) -> &[Repetition] {
        &self.repetitions
    }

    /// Repetition `n` (1-based).
    pub fn repetition(&self, n: usize) -> Option<&Repetition> {
        n.checked_sub(1).and_then(|i| self.repetitions.get(i))
    }

    /// The first subcomponent of the first component of the first repetition ("" when empty).
    pub fn value(&self) -> &str {
        self.repetition(1).map(|r| r.value(1)).unwrap_or_default()
    }

    /// True when the field has no value at all.
    pub fn is_empty(&self) -> bool {
        self.repetitions.iter().all(|r| {
            r.components
                .iter()
                .all(|c| c.subcomponents.iter().all(String::is_empty))
        })
    }
}

/// One segment: a three-character name and its fields (field 1 first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    name: String,
    fields: Vec<Field>,
}

impl Segment {
    /// An empty segment; the name must be three characters `[A-Z][A-Z0-9]{2}`.
    pub fn new(name: &str) -> Result<Segment, Hl7Error> {
        if !is_segment_name(name) {
            return Err(error(name, 0, Hl7ErrorReason::BadSegmentName));
        }
        Ok(Segment {
            name: name.to_owned(),
            fields: Vec::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Field `n` (1-based; for MSH, field 1 is the field separator).
    pub fn field(&self, n: usize) -> Option<&Field> {
        n.checked_sub(1).and_then(|i| self.fields.get(i))
    }

    /// Number of fields present (trailing empty fields included).
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// The first value of field `n` ("" when absent).
    pub fn value(&self, n: usize) -> &str {
        self.field(n).map(Field::value).unwrap_or_default()
    }

    /// Replaces field `n` (1-based), adding empty fields before it as needed.
    pub fn set_field(&mut self, n: usize, field: Field) -> Result<(), Hl7Error> {
        if n == 0 || (self.name == "MSH" && n <= 2) {
            let reason = if n == 0 {
                Hl7ErrorReason::InvalidPath(format!("{}-0", self.name))
            } else {
                Hl7ErrorReason::ReadOnlyField
            };
            return Err(error(&self.name, n, reason));
        }
        if self.fields.len() < n {
            self.fields.resize_with(n, Field::default);
        }
        self.fields[n - 1] = field;
        Ok(())
    }

    fn value_at(&self, path: &Path) -> Option<&str> {
        self.field(path.field)?
            .repetition(path.repetition)?
            .component(path.component)?
            .subcomponent(path.subcomponent)
    }

    fn set_value(&mut self, path: &Path, value: String) -> Result<(), Hl7Error> {
        if self.name == "MSH" && path.field <= 2 {
            return Err(error(&self.name, path.field, Hl7ErrorReason::ReadOnlyField));
        }
        if self.fields.len() < path.field {
            self.fields.resize_with(path.field, Field::default);
        }
        let field = &mut self.fields[path.field - 1];
        grow(&mut field.repetitions, path.repetition, || Repetition {
            components: Vec::new(),
        });
        let repetition = &mut field.repetitions[path.repetition - 1];
        grow(&mut repetition.components, path.component, || Component {
            subcomponents: Vec::new(),
        });
        let component = &mut repetition.components[path.component - 1];
        grow(&mut component.subcomponents, path.subcomponent, String::new);
        component.subcomponents[path.subcomponent - 1] = value;
        Ok(())
    }
}

fn grow<T>(items: &mut Vec<T>, len: usize, make: impl FnMut() -> T) {
    if items.len() < len {
        items.resize_with(len, make);
    }
}

fn is_segment_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() == 3
        && bytes[0].is_ascii_uppercase()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A location such as `PID-3`, `PID(2)-3`, `PID-3(2).4.2`: segment (occurrence) - field
/// (repetition) . component . subcomponent, all 1-based and defaulting to 1.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Path {
    segment: String,
    occurrence: usize,
    field: usize,
    repetition: usize,
    component: usize,
    subcomponent: usize,
}

impl Path {
    fn parse(text: &str) -> Result<Path, Hl7Error> {
        let invalid = || error("", 0, Hl7ErrorReason::InvalidPath(text.to_owned()));
        let (segment_part, rest) = text.split_once('-').ok_or_else(invalid)?;
        let (segment, occurrence) = indexed(segment_part).ok_or_else(invalid)?;
        let mut parts = rest.split('.');
        let (field, repetition) = parts.next().and_then(indexed).ok_or_else(invalid)?;
        let mut positions = [1usize; 2];
        for slot in &mut positions {
            if let Some(part) = parts.next() {
                *slot = number(part).ok_or_else(invalid)?;
            }
        }
        if parts.next().is_some() || !is_segment_name(segment) {
            return Err(invalid());
        }
        let field = number(field).ok_or_else(invalid)?;
        Ok(Path {
            segment: segment.to_owned(),
            occurrence,
            field,
            repetition,
            component: positions[0],
            subcomponent: positions[1],
        })
    }
}

/// `NAME` or `NAME(n)` → (NAME, n).
fn indexed(text: &str) -> Option<(&str, usize)> {
    match text.split_once('(') {
        None => Some((text, 1)),
        Some((name, index)) => Some((name, number(index.strip_suffix(')')?)?)),
    }
}

fn number(text: &str) -> Option<usize> {
    text.parse::<usize>().ok().filter(|n| *n >= 1)
}

/// An HL7 v2 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    delimiters: Delimiters,
    segments: Vec<Segment>,
}

impl Message {
    /// A message holding only an MSH with MSH-1 and MSH-2 set from `delimiters`.
    pub fn new(delimiters: Delimiters) -> Message {
        Message {
            delimiters,
            segments: vec![Segment {
                name: "MSH".into(),
                fields: vec![
                    Field::new(delimiters.field.to_string()),
                    Field::new(delimiters.encoding_characters()),
                ],
            }],
        }
    }

    /// A builder starting with an MSH using the default delimiters `|^~\&`.
    pub fn builder() -> MessageBuilder {
        MessageBuilder::new(Delimiters::default())
    }

    /// Parses an ER7 message with the default [`Hl7Limits`].
    pub fn parse(input: &[u8]) -> Result<Message, Hl7Error> {
        Message::parse_with_limits(input, Hl7Limits::default())
    }

    /// Parses an ER7 message: UTF-8 (ISO-8859-1 when not valid UTF-8), segments separated by
    /// CR (LF and CRLF tolerated), delimiters taken from MSH-1/MSH-2.
    pub fn parse_with_limits(input: &[u8], limits: Hl7Limits) -> Result<Message, Hl7Error> {
        if input.len() > limits.max_bytes {
            return Err(error(
                "",
                0,
                Hl7ErrorReason::TooLarge {
                    size: input.len(),
                    limit: limits.max_bytes,
                },
            ));
        }
        let text = decode_text(input);
        let text = text.trim_start_matches(['\u{feff}', '\r', '\n']);
        let Some(after_msh) = text.strip_prefix("MSH") else {
            return Err(error("", 0, Hl7ErrorReason::MissingMsh));
        };
        let field_separator = after_msh.chars().next().ok_or_else(|| {
            error(
                "MSH",
                1,
                Hl7ErrorReason::BadEncodingCharacters(String::new()),
            )
        })?;
        let after_separator = &after_msh[field_separator.len_utf8()..];
        let encoding_end = after_separator
            .find([field_separator, '\r', '\n'])
            .unwrap_or(after_separator.len());
        let delimiters = Delimiters::new(field_separator, &after_separator[..encoding_end])?;

        let mut segments = Vec::new();
        for line in text.split(['\r', '\n']).filter(|l| !l.is_empty()) {
            if segments.len() == limits.max_segments {
                return Err(error(
                    "",
                    0,
                    Hl7ErrorReason::TooManySegments {
                        limit: limits.max_segments,
                    },
                ));
            }
            segments.push(parse_segment(line, &delimiters)?);
        }
        Ok(Message {
            delimiters,
            segments,
        })
    }

    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// All segments in order (MSH first).
    pub fn all_segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The segments named `name`, in order.
    pub fn segments<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s Segment> + 'n
    where
        's: 'n,
    {
        self.segments.iter().filter(move |s| s.name == name)
    }

    /// The first segment named `name`.
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments(name).next()
    }

    /// The value at `path` (`PID-3`, `PID-3(2).4.2`, `OBX(2)-5`): its subcomponent, defaulting
    /// to the first repetition, component and subcomponent, so `PID-3` is the first ID of
    /// PID-3. `None` when absent or when the path is invalid.
    pub fn get(&self, path: &str) -> Option<&str> {
        let path = Path::parse(path).ok()?;
        self.segments(&path.segment)
            .nth(path.occurrence - 1)?
            .value_at(&path)
    }

    /// Sets the plain-text value at `path` (escaped when written), creating the fields,
    /// repetitions and components before it. The segment occurrence must exist.
    pub fn set(&mut self, path: &str, value: impl Into<String>) -> Result<(), Hl7Error> {
        let path = Path::parse(path)?;
        let segment = self
            .segments
            .iter_mut()
            .filter(|s| s.name == path.segment)
            .nth(path.occurrence - 1)
            .ok_or_else(|| error(&path.segment, 0, Hl7ErrorReason::SegmentNotFound))?;
        segment.set_value(&path, value.into())
    }

    /// Appends a segment.
    pub fn push_segment(&mut self, segment: Segment) {
        self.segments.push(segment);
    }

    /// MSH-10 Message Control ID.
    pub fn control_id(&self) -> &str {
        self.get("MSH-10").unwrap_or_default()
    }

    /// MSH-12 Version ID (e.g. `2.5`).
    pub fn version(&self) -> &str {
        self.get("MSH-12").unwrap_or_default()
    }

    /// MSH-9.1 message code (e.g. `ADT`).
    pub fn message_code(&self) -> &str {
        self.get("MSH-9.1").unwrap_or_default()
    }

    /// MSH-9.2 trigger event (e.g. `A01`).
    pub fn trigger_event(&self) -> &str {
        self.get("MSH-9.2").unwrap_or_default()
    }

    /// The message in ER7, every segment terminated by a carriage return.
    pub fn encode(&self) -> String {
        let d = &self.delimiters;
        let mut out = String::with_capacity(256 * self.segments.len());
        for segment in &self.segments {
            out.push_str(&segment.name);
            let fields = if segment.name == "MSH" {
                out.push(d.field);
                out.push_str(&d.encoding_characters());
                segment.fields.get(2..).unwrap_or_default()
            } else {
                &segment.fields
            };
            for field in fields {
                out.push(d.field);
                for (i, repetition) in field.repetitions.iter().enumerate() {
                    if i > 0 {
                        out.push(d.repetition);
                    }
                    encode_repetition(&mut out, repetition, d);
                }
            }
            out.push('\r');
        }
        out
    }
}

fn encode_repetition(out: &mut String, repetition: &Repetition, d: &Delimiters) {
    for (i, component) in repetition.components.iter().enumerate() {
        if i > 0 {
            out.push(d.component);
        }
        for (j, sub) in component.subcomponents.iter().enumerate() {
            if j > 0 {
                out.push(d.subcomponent);
            }
            out.push_str(&d.escape(sub));
        }
    }
}

fn parse_segment(line: &str, d: &Delimiters) -> Result<Segment, Hl7Error> {
    let name_end = line.find(d.field).unwrap_or(line.len());
    let name = &line[..name_end];
    let mut segment = Segment::new(name)?;
    let rest = &line[name_end..];
    if name == "MSH" {
        let after_separator = &rest[d.field.len_utf8().min(rest.len())..];
        let encoding_end = after_separator
            .find(d.field)
            .unwrap_or(after_separator.len());
        if Delimiters::new(d.field, &after_separator[..encoding_end])? != *d {
            return Err(error(
                "MSH",
                2,
                Hl7ErrorReason::BadEncodingCharacters(after_separator[..encoding_end].into()),
            ));
        }
        segment.fields.push(Field::new(d.field.to_string()));
        segment.fields.push(Field::new(d.encoding_characters()));
        let fields = &after_separator[encoding_end..];
        if let Some(fields) = fields.strip_prefix(d.field) {
            segment
                .fields
                .extend(fields.split(d.field).map(|f| Field::parse(f, d)));
        }
    } else if let Some(fields) = rest.strip_prefix(d.field) {
        segment
            .fields
            .extend(fields.split(d.field).map(|f| Field::parse(f, d)));
    }
    Ok(segment)
}

/// Builds a message segment by segment; the first error is reported by [`MessageBuilder::build`].
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    message: Message,
    error: Option<Hl7Error>,
}

impl MessageBuilder {
    /// A builder whose current segment is an MSH with these delimiters.
    pub fn new(delimiters: Delimiters) -> MessageBuilder {
        MessageBuilder {
            message: Message::new(delimiters),
            error: None,
        }
    }

    fn record(mut self, result: Result<(), Hl7Error>) -> Self {
        if let (Err(e), None) = (result, &self.error) {
            self.error = Some(e);
        }
        self
    }

    fn current(&mut self) -> &mut Segment {
        let last = self.message.segments.len() - 1;
        &mut self.message.segments[last]
    }

    /// Starts a new segment, which becomes the current one.
    pub fn segment(mut self, name: &str) -> Self {
        match Segment::new(name) {
            Ok(segment) => {
                self.message.segments.push(segment);
                self
            }
            Err(e) => self.record(Err(e)),
        }
    }

    /// Sets field `n` of the current segment to one plain-text value.
    pub fn field(mut self, n: usize, value: &str) -> Self {
        let result = self.current().set_field(n, Field::new(value));
        self.record(result)
    }

    /// Sets field `n` of the current segment from ER7 text (components, repetitions and escape
    /// sequences with the message delimiters), e.g. `123^^^&1.2.3&ISO~456^^^HOSP`.
    pub fn field_er7(mut self, n: usize, er7: &str) -> Self {
        let field = Field::parse(er7, &self.message.delimiters);
        let result = self.current().set_field(n, field);
        self.record(result)
    }

    /// Sets field `n` of the current segment to these repetitions.
    pub fn repetitions(mut self, n: usize, repetitions: Vec<Repetition>) -> Self {
        let result = self
            .current()
            .set_field(n, Field::from_repetitions(repetitions));
        self.record(result)
    }

    /// [`Message::set`] on the message built so far.
    pub fn set(mut self, path: &str, value: &str) -> Self {
        let result = self.message.set(path, value);
        self.record(result)
    }

    pub fn build(self) -> Result<Message, Hl7Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.message),
        }
    }
}

/// MSA-1 acknowledgment code (HL7 table 0008, original mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Application Accept.
    AA,
    /// Application Error.
    AE,
    /// Application Reject.
    AR,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
        }
    }
}

/// HL7 table 0357 message error condition codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    SegmentSequenceError,
    RequiredFieldMissing,
    DataTypeError,
    TableValueNotFound,
    UnsupportedMessageType,
    UnsupportedEventCode,
    UnsupportedProcessingId,
    UnsupportedVersionId,
    UnknownKeyIdentifier,
    DuplicateKeyIdentifier,
    ApplicationRecordLocked,
    ApplicationInternalError,
}

impl ErrorCode {
    /// The numeric code (100, 101, ..., 207).
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::SegmentSequenceError => "100",
            ErrorCode::RequiredFieldMissing => "101",
            ErrorCode::DataTypeError => "102",
            ErrorCode::TableValueNotFound => "103",
            ErrorCode::UnsupportedMessageType => "200",
            ErrorCode::UnsupportedEventCode => "201",
            ErrorCode::UnsupportedProcessingId => "202",
            ErrorCode::UnsupportedVersionId => "203",
            ErrorCode::UnknownKeyIdentifier => "204",
            ErrorCode::DuplicateKeyIdentifier => "205",
            ErrorCode::ApplicationRecordLocked => "206",
            ErrorCode::ApplicationInternalError => "207",
        }
    }

    /// The table 0357 display text.
    pub fn text(self) -> &'static str {
        match self {
            ErrorCode::SegmentSequenceError => "Segment sequence error",
            ErrorCode::RequiredFieldMissing => "Required field missing",
            ErrorCode::DataTypeError => "Data type error",
            ErrorCode::TableValueNotFound => "Table value not found",
            ErrorCode::UnsupportedMessageType => "Unsupported message type",
            ErrorCode::UnsupportedEventCode => "Unsupported event code",
            ErrorCode::UnsupportedProcessingId => "Unsupported processing id",
            ErrorCode::UnsupportedVersionId => "Unsupported version id",
            ErrorCode::UnknownKeyIdentifier => "Unknown key identifier",
            ErrorCode::DuplicateKeyIdentifier => "Duplicate key identifier",
            ErrorCode::ApplicationRecordLocked => "Application record locked",
            ErrorCode::ApplicationInternalError => "Application internal error",
        }
    }
}

/// ERR-4 severity (HL7 table 0516).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Information,
    Fatal,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Information => "I",
            Severity::Fatal => "F",
        }
    }
}

/// Where an error was found (ERR-2 ERL, or the location part of the v2.3.1 ERR-1 ELD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLocation {
    /// Segment ID, e.g. `PID`.
    pub segment: String,
    /// Occurrence of the segment in the message (1 for the first).
    pub sequence: usize,
    /// Field position.
    pub field: usize,
    /// Component position, when the error concerns one component.
    pub component: Option<usize>,
}

impl ErrorLocation {
    /// Field `field` of the first `segment`, e.g. `ErrorLocation::field("PID", 3)` → `PID^1^3`.
    pub fn field(segment: &str, field: usize) -> ErrorLocation {
        ErrorLocation {
            segment: segment.to_owned(),
            sequence: 1,
            field,
            component: None,
        }
    }

    /// Component `component` of field `field` of the first `segment`, e.g.
    /// `ErrorLocation::component("MSH", 9, 2)` → `MSH^1^9^1^2`.
    pub fn component(segment: &str, field: usize, component: usize) -> ErrorLocation {
        ErrorLocation {
            component: Some(component),
            ..ErrorLocation::field(segment, field)
        }
    }
}

/// The error reported in the ERR segment of an ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrDetail {
    pub location: Option<ErrorLocation>,
    pub code: ErrorCode,
    pub severity: Severity,
    /// Human-readable text (ERR-8 User Message; MSA-3 and ERR-1 text before v2.5).
    pub text: String,
}

impl ErrDetail {
    /// An error (ERR-4 `E`) of table 0357 `code` at `location`, explained by `text`.
    pub fn error(code: ErrorCode, location: Option<ErrorLocation>, text: String) -> ErrDetail {
        ErrDetail {
            location,
            code,
            severity: Severity::Error,
            text,
        }
    }
}

/// The acknowledgment (original mode) of `original`: MSH with sending and receiving
/// application/facility swapped and the original version, MSA with `code` and the original
/// control id, and an ERR segment when `error` is given (v2.5+ layout ERR-2/3/4/8; ERR-1 and
/// MSA-3 for earlier versions).
pub fn ack(original: &Message, code: AckCode, error: Option<&ErrDetail>) -> Message {
    let d = original.delimiters;
    let version = original.version().to_owned();
    let legacy = is_before_2_5(&version);
    let msh_field = |n: usize| original.segment("MSH").and_then(|s| s.field(n)).cloned();
    let mut message = Message::new(d);
    let msh = &mut message.segments[0];
    for (to, from) in [(3, 5), (4, 6), (5, 3), (6, 4)] {
        if let Some(field) = msh_field(from) {
            msh.fields.resize_with(to - 1, Field::default);
            msh.fields.push(field);
        }
    }
    msh.fields.resize_with(12, Field::default);
    msh.fields[6] = Field::new(hl7_timestamp(SystemTime::now()));
    let trigger = original.trigger_event();
    let mut message_type = vec!["ACK"];
    if !trigger.is_empty() || !legacy {
        message_type.push(trigger);
    }
    if !legacy {
        message_type.push("ACK");
    }
    msh.fields[8] = Field::from_repetitions(vec![Repetition::from_components(&message_type)]);
    msh.fields[9] = Field::new(new_control_id());
    msh.fields[10] = msh_field(11).unwrap_or_default();
    msh.fields[11] = msh_field(12).unwrap_or_default();

    let mut msa = Segment {
        name: "MSA".into(),
        fields: vec![Field::new(code.as_str()), Field::new(original.control_id())],
    };
    if let (Some(detail), true) = (error, legacy) {
        msa.fields.push(Field::new(detail.text.clone()));
    }
    message.segments.push(msa);

    if let Some(detail) = error {
        message.segments.push(err_segment(detail, legacy));
    }
    message
}

fn err_segment(detail: &ErrDetail, legacy: bool) -> Segment {
    let mut err = Segment {
        name: "ERR".into(),
        fields: Vec::new(),
    };
    let location: Vec<Component> = detail
        .location
        .as_ref()
        .map(|l| {
            let mut parts = vec![
                Component::new(l.segment.clone()),
                Component::new(l.sequence.to_string()),
                Component::new(l.field.to_string()),
            ];
            if let Some(component) = l.component {
                parts.push(Component::new("1"));
                parts.push(Component::new(component.to_string()));
            }
            parts
        })
        .unwrap_or_default();
    if legacy {
        // ERR-1 ELD: segment ^ sequence ^ field ^ code&text&HL70357.
        let mut eld: Vec<Component> = location.into_iter().take(3).collect();
        eld.resize_with(3, || Component::new(""));
        eld.push(Component {
            subcomponents: vec![
                detail.code.code().into(),
                detail.code.text().into(),
                "HL70357".into(),
            ],
        });
        err.fields.push(Field::from_repetitions(vec![Repetition {
            components: eld,
        }]));
    } else {
        err.fields.resize_with(8, Field::default);
        if !location.is_empty() {
            err.fields[1] = Field::from_repetitions(vec![Repetition {
                components: location,
            }]);
        }
        err.fields[2] = Field::from_repetitions(vec![Repetition::from_components(&[
            detail.code.code(),
            detail.code.text(),
            "HL70357",
        ])]);
        err.fields[3] = Field::new(detail.severity.code());
        err.fields[7] = Field::new(detail.text.clone());
    }
    err
}

/// True for versions before 2.5 (2.1 … 2.4, e.g. 2.3.1), which use ERR-1 instead of ERR-2..8.
fn is_before_2_5(version: &str) -> bool {
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) < (2, 5),
        _ => false,
    }
}

/// A fresh message control id of 20 characters (the v2.5 length of MSH-10).
fn new_control_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..20].to_owned()
}

/// `YYYYMMDDHHMMSS+0000` in UTC.
fn hl7_timestamp(now: SystemTime) -> String {
    format!("{}+0000", super::time::utc_timestamp(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ADT^A01 v2.5 with two PID-3 identifiers and escape sequences in names and addresses.
    const ADT_A01_V25: &str = concat!(
        "MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|PAT_IDENTITY_X_REF_MGR|IHE|20240115083000||ADT^A01^ADT_A01|MSG00001|P|2.5|||AL|NE||UNICODE UTF-8\r",
        "EVN||20240115083000\r",
        "PID|||12345^^^HOSP&1.2.3.4&ISO^MR~98765^^^NAT&2.16.840.1.113883.4.1&ISO^NI||M\u{fc}ller^Hans^^^Dr\\T\\Prof||19700101|M|||Main Street 1\\S\\Apt 2^^Springfield^^12345^USA||555-1234|||||ACC\\F\\77\r",
        "PV1||I|W^389^1\r",
    );

    /// ADT^A04 v2.3.1 (ITI-8 style), LF separated, with an escape-character escape.
    const ADT_A04_V231: &str = concat!(
        "MSH|^~\\&|REGADT|MCM|XDSb_REG|IHE|199912271408||ADT^A04|000001|P|2.3.1\n",
        "EVN|A04|199912271408\n",
        "PID|||543797436^^^&1.3.6.1.4.1.21367.2005.3.7&ISO~A123^^^LOCAL||SMITH^JOHN||19601021|M|||C:\\E\\data\n",
    );

    fn parse(text: &str) -> Result<Message, Hl7Error> {
        Message::parse(text.as_bytes())
    }

    #[test]
    fn adt_a01_v2_5_fields_components_and_subcomponents() {
        let msg = parse(ADT_A01_V25).unwrap();
        assert_eq!(msg.message_code(), "ADT");
        assert_eq!(msg.trigger_event(), "A01");
        assert_eq!(msg.control_id(), "MSG00001");
        assert_eq!(msg.version(), "2.5");
        assert_eq!(msg.get("MSH-9.3"), Some("ADT_A01"));
        assert_eq!(msg.get("PID-3"), Some("12345"));
        assert_eq!(msg.get("PID-3.4.2"), Some("1.2.3.4"));
        assert_eq!(msg.get("PID-3(2)"), Some("98765"));
        assert_eq!(msg.get("PID-3(2).4.2"), Some("2.16.840.1.113883.4.1"));
        assert_eq!(msg.get("PID-3(2).5"), Some("NI"));
        assert_eq!(msg.get("PID-3(3)"), None);
        assert_eq!(msg.get("PID-5.1"), Some("M\u{fc}ller"));
        assert_eq!(msg.get("PV1-3.2"), Some("389"));
        assert_eq!(msg.segments("PID").count(), 1);
        assert_eq!(msg.all_segments().len(), 4);
    }

    #[test]
    fn pid_3_repetitions_are_listed_and_re_encoded_as_cx() {
        let msg = parse(ADT_A01_V25).unwrap();
        let pid = msg.segment("PID").unwrap();
        let ids = pid.field(3).unwrap().repetitions();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1].value(1), "98765");
        assert_eq!(
            ids[0].component(4).unwrap().subcomponents(),
            ["HOSP", "1.2.3.4", "ISO"]
        );
        assert_eq!(
            ids[1].encode(&Delimiters::default()),
            "98765^^^NAT&2.16.840.1.113883.4.1&ISO^NI"
        );
    }

    #[test]
    fn escape_sequences_are_decoded() {
        let msg = parse(ADT_A01_V25).unwrap();
        assert_eq!(msg.get("PID-5.5"), Some("Dr&Prof"));
        assert_eq!(msg.get("PID-11.1"), Some("Main Street 1^Apt 2"));
        assert_eq!(msg.get("PID-18"), Some("ACC|77"));
        let d = Delimiters::default();
        assert_eq!(d.unescape(r"a\R\b\E\c\X41C3A9\d"), "a~b\\cA\u{e9}d");
        assert_eq!(
            d.unescape(r"\H\bold\N\ \.br\ \Xzz\ tail\"),
            r"bold \.br\ \Xzz\ tail\"
        );
    }

    #[test]
    fn parsed_message_encodes_back_to_the_same_text() {
        let msg = parse(ADT_A01_V25).unwrap();
        assert_eq!(msg.encode(), ADT_A01_V25);
    }

    #[test]
    fn adt_a04_v2_3_1_with_line_feeds() {
        let msg = parse(ADT_A04_V231).unwrap();
        assert_eq!(msg.version(), "2.3.1");
        assert_eq!(msg.trigger_event(), "A04");
        assert_eq!(msg.get("PID-3.4.2"), Some("1.3.6.1.4.1.21367.2005.3.7"));
        assert_eq!(msg.get("PID-3(2).4"), Some("LOCAL"));
        assert_eq!(msg.get("PID-11"), Some("C:\\data"));
        assert_eq!(msg.all_segments().len(), 3);
        let crlf = ADT_A04_V231.replace('\n', "\r\n");
        assert_eq!(parse(&crlf).unwrap(), msg);
    }

    #[test]
    fn msh_1_is_the_field_separator_and_msh_2_the_encoding_characters() {
        let msg = parse(ADT_A01_V25).unwrap();
        assert_eq!(msg.get("MSH-1"), Some("|"));
        assert_eq!(msg.get("MSH-2"), Some("^~\\&"));
        assert_eq!(msg.get("MSH-3"), Some("ADT1"));
        assert_eq!(msg.get("MSH-7"), Some("20240115083000"));
    }

    #[test]
    fn custom_delimiters_are_taken_from_msh() {
        let text = "MSH#$@?%#APP#FAC#PIX#IHE#20240101##ADT$A08#C1#P#2.5\rPID###1$$$A%1.2%ISO@2$$$B##Doe$Jane?F?X\r";
        let msg = parse(text).unwrap();
        assert_eq!(msg.delimiters().field, '#');
        assert_eq!(msg.delimiters().encoding_characters(), "$@?%");
        assert_eq!(msg.get("MSH-1"), Some("#"));
        assert_eq!(msg.get("MSH-9.2"), Some("A08"));
        assert_eq!(msg.get("PID-3.4.2"), Some("1.2"));
        assert_eq!(msg.get("PID-3(2).4"), Some("B"));
        assert_eq!(msg.get("PID-5.2"), Some("Jane#X"));
        assert_eq!(msg.encode(), text);
    }

    #[test]
    fn message_without_msh_is_refused() {
        let error = parse("PID|||123\r").unwrap_err();
        assert_eq!(error.reason, Hl7ErrorReason::MissingMsh);
        assert_eq!(parse("").unwrap_err().reason, Hl7ErrorReason::MissingMsh);
    }

    #[test]
    fn bad_encoding_characters_are_refused() {
        for text in [
            "MSH|^~\r",
            "MSH|^~\\^|A\r",
            "MSH|^~A&|A\r",
            "MSH",
            "MSH|^~\\&&&|A",
        ] {
            let error = parse(text).unwrap_err();
            assert!(
                matches!(error.reason, Hl7ErrorReason::BadEncodingCharacters(_)),
                "{text:?}: {error:?}"
            );
            assert_eq!(error.segment, "MSH");
        }
    }

    #[test]
    fn bad_segment_name_is_refused() {
        let error = parse("MSH|^~\\&|A\rpid|1\r").unwrap_err();
        assert_eq!(error.reason, Hl7ErrorReason::BadSegmentName);
        assert_eq!(error.segment, "pid");
    }

    #[test]
    fn message_larger_than_the_limit_is_refused() {
        let limits = Hl7Limits {
            max_bytes: 20,
            ..Hl7Limits::default()
        };
        let error = Message::parse_with_limits(ADT_A01_V25.as_bytes(), limits).unwrap_err();
        assert!(matches!(
            error.reason,
            Hl7ErrorReason::TooLarge { limit: 20, .. }
        ));
    }

    #[test]
    fn too_many_segments_are_refused() {
        let limits = Hl7Limits {
            max_segments: 3,
            ..Hl7Limits::default()
        };
        let error = Message::parse_with_limits(ADT_A01_V25.as_bytes(), limits).unwrap_err();
        assert_eq!(error.reason, Hl7ErrorReason::TooManySegments { limit: 3 });
    }

    #[test]
    fn latin_1_input_is_decoded() {
        let mut bytes = b"MSH|^~\\&|A\rPID|||1||M".to_vec();
        bytes.push(0xfc);
        bytes.extend_from_slice(b"ller\r");
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.get("PID-5"), Some("M\u{fc}ller"));
    }

    #[test]
    fn invalid_paths_are_refused() {
        let mut msg = parse(ADT_A01_V25).unwrap();
        for path in [
            "PID",
            "PID-0",
            "PID-x",
            "pid-3",
            "PID-3.1.1.1",
            "PID(0)-3",
            "PID-3(2",
        ] {
            assert_eq!(msg.get(path), None, "{path}");
            assert!(matches!(
                msg.set(path, "v").unwrap_err().reason,
                Hl7ErrorReason::InvalidPath(_)
            ));
        }
        assert_eq!(
            msg.set("OBX-5", "v").unwrap_err().reason,
            Hl7ErrorReason::SegmentNotFound
        );
        assert_eq!(
            msg.set("MSH-2", "v").unwrap_err().reason,
            Hl7ErrorReason::ReadOnlyField
        );
    }

    #[test]
    fn builder_escapes_delimiters_in_values() {
        let msg = Message::builder()
            .field(3, "PIX")
            .set("MSH-9.1", "ADT")
            .set("MSH-9.2", "A01")
            .field(10, "C1")
            .field(12, "2.5")
            .segment("PID")
            .field_er7(3, "1^^^&1.2.3&ISO~2^^^B")
            .set("PID-3(2).4.2", "9.9")
            .field(5, "O'Brien|Smith^Jr & Co~\\x")
            .build()
            .unwrap();
        let text = msg.encode();
        assert_eq!(
            text,
            "MSH|^~\\&|PIX||||||ADT^A01|C1||2.5\rPID|||1^^^&1.2.3&ISO~2^^^B&9.9||O'Brien\\F\\Smith\\S\\Jr \\T\\ Co\\R\\\\E\\x\r"
        );
        let back = parse(&text).unwrap();
        assert_eq!(back.get("PID-5"), Some("O'Brien|Smith^Jr & Co~\\x"));
        assert_eq!(back, msg);
    }

    #[test]
    fn builder_reports_the_first_error() {
        let error = Message::builder()
            .segment("pid")
            .field(1, "x")
            .build()
            .unwrap_err();
        assert_eq!(error.reason, Hl7ErrorReason::BadSegmentName);
        let error = Message::builder().field(1, "x").build().unwrap_err();
        assert_eq!(error.reason, Hl7ErrorReason::ReadOnlyField);
    }

    #[test]
    fn line_breaks_in_values_are_escaped_as_hex() {
        let msg = Message::builder()
            .segment("NTE")
            .field(3, "line 1\r\nline 2")
            .build()
            .unwrap();
        assert_eq!(msg.encode().lines().count(), 1);
        assert!(msg.encode().contains("line 1\\X0D\\\\X0A\\line 2"));
        let back = parse(&msg.encode()).unwrap();
        assert_eq!(back.get("NTE-3"), Some("line 1\r\nline 2"));
    }

    #[test]
    fn ack_aa_swaps_applications_and_echoes_control_id_and_version() {
        let original = parse(ADT_A01_V25).unwrap();
        let ack = ack(&original, AckCode::AA, None);
        assert_eq!(ack.get("MSH-3"), Some("PAT_IDENTITY_X_REF_MGR"));
        assert_eq!(ack.get("MSH-4"), Some("IHE"));
        assert_eq!(ack.get("MSH-5"), Some("ADT1"));
        assert_eq!(ack.get("MSH-6"), Some("GOOD HEALTH HOSPITAL"));
        assert_eq!(ack.get("MSH-7").map(str::len), Some(19));
        assert_eq!(ack.get("MSH-9"), Some("ACK"));
        assert_eq!(ack.get("MSH-9.2"), Some("A01"));
        assert_eq!(ack.get("MSH-9.3"), Some("ACK"));
        assert_eq!(ack.control_id().len(), 20);
        assert_ne!(ack.control_id(), original.control_id());
        assert_eq!(ack.get("MSH-11"), Some("P"));
        assert_eq!(ack.version(), "2.5");
        assert_eq!(ack.get("MSA-1"), Some("AA"));
        assert_eq!(ack.get("MSA-2"), Some("MSG00001"));
        assert!(ack.segment("ERR").is_none());
        assert_eq!(parse(&ack.encode()).unwrap(), ack);
    }

    #[test]
    fn ack_ae_v2_5_reports_err_2_3_4_8() {
        let original = parse(ADT_A01_V25).unwrap();
        let detail = ErrDetail {
            location: Some(ErrorLocation::field("PID", 3)),
            code: ErrorCode::UnknownKeyIdentifier,
            severity: Severity::Error,
            text: "Unknown assigning authority NAT".into(),
        };
        let ack = ack(&original, AckCode::AE, Some(&detail));
        assert_eq!(ack.get("MSA-1"), Some("AE"));
        assert_eq!(ack.segment("MSA").unwrap().field_count(), 2);
        let encoded = ack.encode();
        let err = encoded.split('\r').find(|s| s.starts_with("ERR")).unwrap();
        assert_eq!(
            err,
            "ERR||PID^1^3|204^Unknown key identifier^HL70357|E||||Unknown assigning authority NAT"
        );
    }

    #[test]
    fn ack_ae_v2_3_1_reports_err_1_and_msa_3() {
        let original = parse(ADT_A04_V231).unwrap();
        let detail = ErrDetail {
            location: Some(ErrorLocation::field("PID", 3)),
            code: ErrorCode::RequiredFieldMissing,
            severity: Severity::Error,
            text: "PID-3 lacks an assigning authority".into(),
        };
        let ack = ack(&original, AckCode::AE, Some(&detail));
        let encoded = ack.encode();
        let segments: Vec<&str> = encoded.split('\r').collect();
        assert!(segments[0].contains("|ACK^A04|"), "{}", segments[0]);
        assert!(segments[0].ends_with("|P|2.3.1"), "{}", segments[0]);
        assert_eq!(
            segments[1],
            "MSA|AE|000001|PID-3 lacks an assigning authority"
        );
        assert_eq!(
            segments[2],
            "ERR|PID^1^3^101&Required field missing&HL70357"
        );
    }

    #[test]
    fn ack_uses_the_original_delimiters() {
        let original = parse("MSH#$@?%#APP#FAC#PIX#IHE#20240101##ADT$A08#C1#P#2.5\r").unwrap();
        let ack = ack(&original, AckCode::AR, None);
        assert!(ack.encode().starts_with("MSH#$@?%#PIX#IHE#APP#FAC#"));
        assert_eq!(ack.get("MSA-1"), Some("AR"));
        assert_eq!(ack.get("MSA-2"), Some("C1"));
    }

    #[test]
    fn timestamp_is_utc_civil_time() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_709_210_096);
        assert_eq!(hl7_timestamp(t), "20240229123456+0000");
    }
}

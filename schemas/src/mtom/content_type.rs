//! The HTTP `Content-Type` of a SOAP 1.2 message: plain `application/soap+xml` or an MTOM
//! `multipart/related` package (RFC 2045 §5.1 syntax, RFC 2387 parameters).

/// Why a `Content-Type` header value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    #[error("Content-Type {found:?} is neither multipart/related nor application/soap+xml")]
    UnsupportedMediaType { found: String },
    #[error("Content-Type {found:?} is not multipart/related")]
    NotMultipartRelated { found: String },
    #[error("multipart/related Content-Type lacks the boundary parameter")]
    MissingBoundary,
    #[error("multipart/related Content-Type lacks the type parameter")]
    MissingType,
    #[error("boundary {0:?} is not 1 to 70 characters ending in a non-space (RFC 2046 §5.1.1)")]
    InvalidBoundary(String),
    #[error("malformed Content-Type {value:?}: {reason}")]
    Malformed { value: String, reason: &'static str },
}

/// The parameters of an MTOM `multipart/related` Content-Type (RFC 2387, XOP 1.0 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartType {
    /// The boundary parameter, unquoted.
    pub boundary: String,
    /// The media type of the root part: `application/xop+xml` for MTOM.
    pub type_: String,
    /// Content-ID of the root part, angle brackets stripped; absent means the first part.
    pub start: Option<String>,
    /// Media type of the XOP infoset (`application/soap+xml` for SOAP 1.2), with its parameters.
    pub start_info: Option<String>,
}

impl MultipartType {
    /// Parses a `multipart/related` header value; any other media type is an error.
    pub fn parse(value: &str) -> Result<Self, ContentTypeError> {
        let parsed = ParsedContentType::parse(value)?;
        if parsed.essence != "multipart/related" {
            return Err(ContentTypeError::NotMultipartRelated {
                found: parsed.essence,
            });
        }
        Self::from_params(parsed.params)
    }

    /// True when the root part is an XOP infoset (`type="application/xop+xml"`), i.e. this is MTOM.
    pub fn is_xop(&self) -> bool {
        self.type_.eq_ignore_ascii_case(super::XOP_MEDIA_TYPE)
    }

    fn from_params(params: Vec<(String, String)>) -> Result<Self, ContentTypeError> {
        let mut boundary = None;
        let mut type_ = None;
        let mut start = None;
        let mut start_info = None;
        for (name, value) in params {
            match name.as_str() {
                "boundary" => boundary = Some(value),
                "type" => type_ = Some(value),
                "start" => start = Some(strip_angle_brackets(&value).to_owned()),
                "start-info" => start_info = Some(value),
                _ => {}
            }
        }
        let boundary = boundary.ok_or(ContentTypeError::MissingBoundary)?;
        if boundary.is_empty() || boundary.len() > 70 || boundary.ends_with(' ') {
            return Err(ContentTypeError::InvalidBoundary(boundary));
        }
        Ok(MultipartType {
            boundary,
            type_: type_.ok_or(ContentTypeError::MissingType)?,
            start,
            start_info,
        })
    }
}

/// What a SOAP 1.2 endpoint received, so callers can branch between a plain envelope and MTOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoapContentType {
    /// `application/soap+xml`: the body is the envelope itself.
    Plain {
        /// The optional SOAP 1.2 `action` parameter (RFC 3902).
        action: Option<String>,
    },
    /// `multipart/related`: an MTOM package.
    Mtom(MultipartType),
}

impl SoapContentType {
    /// Parses the Content-Type of a SOAP 1.2 request or response.
    pub fn parse(value: &str) -> Result<Self, ContentTypeError> {
        let parsed = ParsedContentType::parse(value)?;
        match parsed.essence.as_str() {
            "application/soap+xml" => Ok(SoapContentType::Plain {
                action: parsed
                    .params
                    .into_iter()
                    .find_map(|(name, value)| (name == "action").then_some(value)),
            }),
            "multipart/related" => Ok(SoapContentType::Mtom(MultipartType::from_params(
                parsed.params,
            )?)),
            _ => Err(ContentTypeError::UnsupportedMediaType {
                found: parsed.essence,
            }),
        }
    }
}

impl MultipartType {
    /// The SOAP action a `multipart/related` Content-Type announces: its own `action`
    /// parameter, else the `action` parameter inside `start-info` (SOAP 1.2 MTOM: the root
    /// part's `application/soap+xml` parameters). `None` when neither names one, or when the
    /// value is not a multipart/related type. The envelope's WS-Addressing Action stays the one
    /// the request is answered by.
    pub fn announced_action(value: &str) -> Option<String> {
        let parsed = ParsedContentType::parse(value).ok()?;
        if parsed.essence != "multipart/related" {
            return None;
        }
        let param = |params: Vec<(String, String)>, wanted: &str| {
            params
                .into_iter()
                .find_map(|(name, value)| (name == wanted).then_some(value))
        };
        let start_info = parsed
            .params
            .iter()
            .find_map(|(name, value)| (name == "start-info").then(|| value.clone()));
        param(parsed.params, "action").or_else(|| {
            let inner = ParsedContentType::parse(&start_info?).ok()?;
            param(inner.params, "action")
        })
    }
}

/// Strips one pair of surrounding angle brackets from a Content-ID.
pub(crate) fn strip_angle_brackets(id: &str) -> &str {
    let id = id.trim();
    id.strip_prefix('<')
        .and_then(|inner| inner.strip_suffix('>'))
        .unwrap_or(id)
}

/// A media type lowercased (`type/subtype`) and its parameters (names lowercased, values unquoted).
struct ParsedContentType {
    essence: String,
    params: Vec<(String, String)>,
}

impl ParsedContentType {
    fn parse(value: &str) -> Result<Self, ContentTypeError> {
        let malformed = |reason| ContentTypeError::Malformed {
            value: value.to_owned(),
            reason,
        };
        let (essence, mut rest) = match value.find(';') {
            Some(at) => (&value[..at], &value[at..]),
            None => (value, ""),
        };
        let essence = essence.trim().to_ascii_lowercase();
        match essence.split_once('/') {
            Some((kind, sub)) if is_token(kind) && is_token(sub) => {}
            _ => return Err(malformed("media type is not type/subtype")),
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start();
            let Some(after_semicolon) = rest.strip_prefix(';') else {
                if rest.is_empty() {
                    break;
                }
                return Err(malformed("parameters must be separated by ';'"));
            };
            rest = after_semicolon.trim_start();
            if rest.is_empty() {
                break;
            }
            let Some(eq) = rest.find('=') else {
                return Err(malformed("parameter without '='"));
            };
            let name = rest[..eq].trim();
            if !is_token(name) {
                return Err(malformed("parameter name is not a token"));
            }
            rest = rest[eq + 1..].trim_start();
            let value = if let Some(quoted) = rest.strip_prefix('"') {
                let (value, consumed) =
                    unquote(quoted).ok_or_else(|| malformed("unterminated quoted string"))?;
                rest = &quoted[consumed..];
                value
            } else {
                let end = rest.find(';').unwrap_or(rest.len());
                let token = rest[..end].trim_end();
                if token.is_empty() {
                    return Err(malformed("empty parameter value"));
                }
                rest = &rest[end..];
                token.to_owned()
            };
            params.push((name.to_ascii_lowercase(), value));
        }
        Ok(ParsedContentType { essence, params })
    }
}

/// Reads a quoted-string body (after the opening quote); returns the value and the bytes consumed
/// including the closing quote.
fn unquote(quoted: &str) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, at + 1)),
            '\\' => value.push(chars.next()?.1),
            _ => value.push(c),
        }
    }
    None
}

/// RFC 2045 token: printable ASCII without space and tspecials.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

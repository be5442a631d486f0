//! ITI-18 parameter value syntax (ITI TF-2a 3.18.4.1.2.3.5, Coding of Single/Multiple Values).
//!
//! One `rim:Value` holds either a single value or a parenthesised, comma-separated list of them:
//! - a string in single quotes, a quote inside it written twice: `'Children''s Hospital'`;
//! - a number without quotes: `200412252300`;
//! - a list: `('a', 'b')`, or `('a')` for one value.

/// One literal of a parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A single-quoted string, unescaped (`''` became `'`).
    Text(String),
    /// An unquoted number, as written.
    Number(String),
}

/// The content of one `rim:Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueList {
    /// True when the value was written in parentheses, even with one element.
    pub parenthesised: bool,
    pub literals: Vec<Literal>,
}

/// Why a `rim:Value` does not follow the value syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueSyntaxError {
    #[error("the value is empty")]
    Empty,
    #[error("the string starting at offset {0} has no closing quote")]
    UnterminatedString(usize),
    #[error("the list has no closing parenthesis")]
    UnclosedList,
    #[error("the list is empty")]
    EmptyList,
    #[error("unexpected '{found}' at offset {at}")]
    Unexpected { found: char, at: usize },
    #[error("unexpected end of value, expected {expected}")]
    UnexpectedEnd { expected: &'static str },
}

/// Parses the text of one `rim:Value` (ITI TF-2a 3.18.4.1.2.3.5).
pub fn parse_value(text: &str) -> Result<ValueList, ValueSyntaxError> {
    let mut lexer = Lexer { text, pos: 0 };
    lexer.skip_ws();
    let value = match lexer.peek() {
        None => return Err(ValueSyntaxError::Empty),
        Some('(') => {
            lexer.bump('(');
            ValueList {
                parenthesised: true,
                literals: lexer.list()?,
            }
        }
        Some(_) => ValueList {
            parenthesised: false,
            literals: vec![lexer.literal()?],
        },
    };
    lexer.skip_ws();
    match lexer.peek() {
        None => Ok(value),
        Some(found) => Err(ValueSyntaxError::Unexpected {
            found,
            at: lexer.pos,
        }),
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self, c: char) {
        self.pos += c.len_utf8();
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.bump(c);
        }
    }

    /// The elements of a list, after its `(`, up to and including its `)`.
    fn list(&mut self) -> Result<Vec<Literal>, ValueSyntaxError> {
        let mut literals = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            return Err(ValueSyntaxError::EmptyList);
        }
        loop {
            self.skip_ws();
            literals.push(self.literal()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.bump(','),
                Some(')') => {
                    self.bump(')');
                    return Ok(literals);
                }
                Some(found) => {
                    return Err(ValueSyntaxError::Unexpected {
                        found,
                        at: self.pos,
                    });
                }
                None => return Err(ValueSyntaxError::UnclosedList),
            }
        }
    }

    fn literal(&mut self) -> Result<Literal, ValueSyntaxError> {
        match self.peek() {
            Some('\'') => self.quoted().map(Literal::Text),
            Some(c) if c.is_ascii_digit() || c == '-' => self.number().map(Literal::Number),
            Some(found) => Err(ValueSyntaxError::Unexpected {
                found,
                at: self.pos,
            }),
            None => Err(ValueSyntaxError::UnexpectedEnd {
                expected: "a quoted string or a number",
            }),
        }
    }

    /// `'...'` with `''` standing for one quote.
    fn quoted(&mut self) -> Result<String, ValueSyntaxError> {
        let start = self.pos;
        self.bump('\'');
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(ValueSyntaxError::UnterminatedString(start)),
                Some('\'') => {
                    self.bump('\'');
                    if self.peek() == Some('\'') {
                        self.bump('\'');
                        out.push('\'');
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => {
                    self.bump(c);
                    out.push(c);
                }
            }
        }
    }

    /// `-?digits(.digits)?`
    fn number(&mut self) -> Result<String, ValueSyntaxError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.bump('-');
        }
        self.digits()?;
        if self.peek() == Some('.') {
            self.bump('.');
            self.digits()?;
        }
        Ok(self.text[start..self.pos].to_owned())
    }

    fn digits(&mut self) -> Result<(), ValueSyntaxError> {
        let start = self.pos;
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            self.bump(c);
        }
        if self.pos > start {
            return Ok(());
        }
        match self.peek() {
            Some(found) => Err(ValueSyntaxError::Unexpected {
                found,
                at: self.pos,
            }),
            None => Err(ValueSyntaxError::UnexpectedEnd {
                expected: "a digit",
            }),
        }
    }
}

//! Lexer: turns source text into [`Token`]s with byte positions.
//!
//! Keys (`a.b[2].c`) are lexed whole, so whitespace inside a key is not allowed and a hyphen in
//! a key gets its own error. Identifiers that are keywords are not extended into keys.

use super::{CmpOp, ExprError, Segment};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Op(CmpOp),
    Str(String),
    /// The literal text of a number (validated, finite).
    Num(String),
    /// A bare word that is a keyword (lowercased).
    Keyword(Keyword),
    /// A key path.
    Key(Vec<Segment>),
    Eof,
}

/// Case-insensitive keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Has,
    Contains,
    True,
    False,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Self> {
        const WORDS: [(&str, Keyword); 8] = [
            ("and", Keyword::And),
            ("or", Keyword::Or),
            ("not", Keyword::Not),
            ("in", Keyword::In),
            ("has", Keyword::Has),
            ("contains", Keyword::Contains),
            ("true", Keyword::True),
            ("false", Keyword::False),
        ];
        WORDS
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(word))
            .map(|&(_, k)| k)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Keyword::And => "AND",
            Keyword::Or => "OR",
            Keyword::Not => "NOT",
            Keyword::In => "IN",
            Keyword::Has => "HAS",
            Keyword::Contains => "CONTAINS",
            Keyword::True => "true",
            Keyword::False => "false",
        }
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub pos: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Lexer<'s> {
    fn peek(&self) -> Option<char> {
        self.src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn peek2(&self) -> Option<char> {
        self.src
            .get(self.pos..)
            .and_then(|rest| rest.chars().nth(1))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn err(&self, pos: usize, message: impl Into<String>) -> ExprError {
        ExprError::new(self.src, pos, message)
    }

    /// Consumes `[A-Za-z0-9_]*` and returns it.
    fn word(&mut self) -> &'s str {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        self.src.get(start..self.pos).unwrap_or_default()
    }

    fn digits(&mut self) -> &'s str {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.src.get(start..self.pos).unwrap_or_default()
    }

    fn check_no_hyphen(&self) -> Result<(), ExprError> {
        if self.peek() == Some('-') {
            return Err(self.err(self.pos, "hyphens are not supported in keys"));
        }
        Ok(())
    }

    fn key_or_keyword(&mut self) -> Result<TokenKind, ExprError> {
        let first = self.word();
        if let Some(keyword) = Keyword::from_word(first) {
            return Ok(TokenKind::Keyword(keyword));
        }
        let mut segments = vec![Segment::Field(first.to_owned())];
        loop {
            self.check_no_hyphen()?;
            match self.peek() {
                Some('.') => {
                    let dot = self.pos;
                    self.pos += 1;
                    let name = self.word();
                    if name.is_empty() {
                        return Err(self.err(dot + 1, "expected a name after '.'"));
                    }
                    segments.push(Segment::Field(name.to_owned()));
                }
                Some('[') => {
                    self.pos += 1;
                    let start = self.pos;
                    let digits = self.digits();
                    if digits.is_empty() {
                        return Err(self.err(start, "expected an array index (digits) after '['"));
                    }
                    let index = digits
                        .parse::<usize>()
                        .map_err(|_| self.err(start, "array index is too large"))?;
                    if self.peek() != Some(']') {
                        return Err(self.err(self.pos, "expected ']' to close the array index"));
                    }
                    self.pos += 1;
                    segments.push(Segment::Index(index));
                }
                _ => return Ok(TokenKind::Key(segments)),
            }
        }
    }

    fn number(&mut self) -> Result<TokenKind, ExprError> {
        let start = self.pos;
        self.digits();
        if self.peek() == Some('.') {
            self.pos += 1;
            if self.digits().is_empty() {
                return Err(self.err(self.pos, "expected digits after the decimal point"));
            }
        }
        if self.peek().is_some_and(|c| is_ident_char(c) || c == '.') {
            return Err(self.err(start, "invalid number"));
        }
        let text = self.src.get(start..self.pos).unwrap_or_default();
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(TokenKind::Num(text.to_owned())),
            _ => Err(self.err(start, "number is out of range")),
        }
    }

    fn string(&mut self, quote: char) -> Result<TokenKind, ExprError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.bump() {
                None => return Err(self.err(open, "unterminated string")),
                Some(c) if c == quote => {
                    let end = self.pos - 1;
                    let text = self.src.get(start..end).unwrap_or_default();
                    return Ok(TokenKind::Str(text.to_owned()));
                }
                Some(_) => {}
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ExprError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let pos = self.pos;
        let Some(c) = self.peek() else {
            return Ok(Token {
                kind: TokenKind::Eof,
                pos,
            });
        };
        let single = |lexer: &mut Self, kind| {
            lexer.pos += 1;
            Ok(kind)
        };
        let kind = match c {
            '(' => single(self, TokenKind::LParen),
            ')' => single(self, TokenKind::RParen),
            '[' => single(self, TokenKind::LBracket),
            ']' => single(self, TokenKind::RBracket),
            ',' => single(self, TokenKind::Comma),
            '"' | '\'' => self.string(c),
            '=' | '!' | '<' | '>' => {
                self.pos += 1;
                let eq = self.peek() == Some('=');
                if eq {
                    self.pos += 1;
                }
                match (c, eq) {
                    ('=', true) => Ok(TokenKind::Op(CmpOp::Eq)),
                    ('!', true) => Ok(TokenKind::Op(CmpOp::Ne)),
                    ('<', true) => Ok(TokenKind::Op(CmpOp::Le)),
                    ('>', true) => Ok(TokenKind::Op(CmpOp::Ge)),
                    ('<', false) => Ok(TokenKind::Op(CmpOp::Lt)),
                    ('>', false) => Ok(TokenKind::Op(CmpOp::Gt)),
                    ('=', false) => Err(self.err(pos, "unexpected '=', use '==' for equality")),
                    _ => Err(self.err(pos, "unexpected '!', use '!=' or NOT IN")),
                }
            }
            c if c.is_ascii_digit() => self.number(),
            '.' if self.peek2().is_some_and(|d| d.is_ascii_digit()) => self.number(),
            c if is_ident_start(c) => self.key_or_keyword(),
            '-' => Err(self.err(
                pos,
                "unexpected '-' (hyphens and negative numbers are not supported)",
            )),
            other => Err(self.err(pos, format!("unexpected character '{other}'"))),
        }?;
        Ok(Token { kind, pos })
    }
}

/// Splits `src` into tokens; the last one is always [`TokenKind::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    let mut lexer = Lexer { src, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.kind == TokenKind::Eof;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

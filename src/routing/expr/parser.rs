//! Recursive-descent parser: tokens to [`Expr`]. Entry point [`parse`].
//!
//! Nesting (parentheses and array literals) is capped at [`MAX_DEPTH`] so hostile input cannot
//! overflow the stack.

use serde_json::{Number, Value};

use super::lexer::{Keyword, Token, TokenKind, tokenize};
use super::{CmpOp, Expr, ExprError, Key, Operand};

/// Maximum nesting of parentheses plus array brackets.
pub const MAX_DEPTH: usize = 64;

/// Parses a TaskRouter expression. Never panics; errors carry the position of the problem.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        src,
        tokens,
        at: 0,
        depth: 0,
    };
    let expr = parser.or_expr()?;
    let token = parser.peek();
    if token.kind != TokenKind::Eof {
        let what = describe(&token.kind);
        let message = if token.kind == TokenKind::RParen {
            "unmatched ')'".to_owned()
        } else {
            format!("expected AND, OR or end of expression, found {what}")
        };
        return Err(parser.err_at(token.pos, message));
    }
    Ok(expr)
}

fn describe(kind: &TokenKind) -> String {
    match kind {
        TokenKind::LParen => "'('".to_owned(),
        TokenKind::RParen => "')'".to_owned(),
        TokenKind::LBracket => "'['".to_owned(),
        TokenKind::RBracket => "']'".to_owned(),
        TokenKind::Comma => "','".to_owned(),
        TokenKind::Op(op) => format!("operator '{}'", op_text(*op)),
        TokenKind::Str(_) => "a string".to_owned(),
        TokenKind::Num(_) => "a number".to_owned(),
        TokenKind::Keyword(k) => format!("keyword {}", k.name()),
        TokenKind::Key(_) => "a key".to_owned(),
        TokenKind::Eof => "end of expression".to_owned(),
    }
}

fn op_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Contains => "CONTAINS",
        CmpOp::Has => "HAS",
        CmpOp::In => "IN",
        CmpOp::NotIn => "NOT IN",
    }
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Token {
        self.tokens
            .get(self.at)
            .or_else(|| self.tokens.last())
            .cloned()
            .unwrap_or(Token {
                kind: TokenKind::Eof,
                pos: self.src.len(),
            })
    }

    fn advance(&mut self) -> Token {
        let token = self.peek();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn err_at(&self, pos: usize, message: impl Into<String>) -> ExprError {
        ExprError::new(self.src, pos, message)
    }

    fn enter(&mut self, pos: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Expr, ExprError> {
        let mut items = vec![self.and_expr()?];
        while self.peek().kind == TokenKind::Keyword(Keyword::Or) {
            self.advance();
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, ExprError> {
        let mut items = vec![self.unary()?];
        while self.peek().kind == TokenKind::Keyword(Keyword::And) {
            self.advance();
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        let token = self.peek();
        if token.kind != TokenKind::LParen {
            return self.comparison();
        }
        self.advance();
        self.enter(token.pos)?;
        let inner = self.or_expr()?;
        self.depth -= 1;
        let close = self.advance();
        if close.kind != TokenKind::RParen {
            let found = describe(&close.kind);
            return Err(self.err_at(close.pos, format!("expected ')', found {found}")));
        }
        Ok(inner)
    }

    fn comparison(&mut self) -> Result<Expr, ExprError> {
        let left = self.operand()?;
        let token = self.advance();
        let op = match token.kind {
            TokenKind::Op(op) => op,
            TokenKind::Keyword(Keyword::Has) => CmpOp::Has,
            TokenKind::Keyword(Keyword::In) => CmpOp::In,
            TokenKind::Keyword(Keyword::Contains) => CmpOp::Contains,
            TokenKind::Keyword(Keyword::Not) => {
                let next = self.advance();
                if next.kind != TokenKind::Keyword(Keyword::In) {
                    let found = describe(&next.kind);
                    return Err(
                        self.err_at(next.pos, format!("expected IN after NOT, found {found}"))
                    );
                }
                CmpOp::NotIn
            }
            other => {
                let found = describe(&other);
                return Err(self.err_at(
                    token.pos,
                    format!("expected a comparison operator, found {found}"),
                ));
            }
        };
        let right = self.operand()?;
        Ok(Expr::Compare { left, op, right })
    }

    fn operand(&mut self) -> Result<Operand, ExprError> {
        let token = self.advance();
        match token.kind {
            TokenKind::Str(s) => Ok(Operand::Literal(Value::String(s))),
            TokenKind::Num(text) => Ok(Operand::Literal(Value::Number(number(&text)))),
            TokenKind::Keyword(Keyword::True) => Ok(Operand::Literal(Value::Bool(true))),
            TokenKind::Keyword(Keyword::False) => Ok(Operand::Literal(Value::Bool(false))),
            TokenKind::Key(segments) => Ok(Operand::Key(Key { segments })),
            TokenKind::LBracket => {
                self.enter(token.pos)?;
                let items = self.array_items()?;
                self.depth -= 1;
                Ok(Operand::Array(items))
            }
            other => {
                let found = describe(&other);
                Err(self.err_at(token.pos, format!("expected a value or key, found {found}")))
            }
        }
    }

    /// After `[`: `operand (',' operand)* ']'` or just `]`.
    fn array_items(&mut self) -> Result<Vec<Operand>, ExprError> {
        let mut items = Vec::new();
        if self.peek().kind == TokenKind::RBracket {
            self.advance();
            return Ok(items);
        }
        loop {
            items.push(self.operand()?);
            let token = self.advance();
            match token.kind {
                TokenKind::Comma => {}
                TokenKind::RBracket => return Ok(items),
                other => {
                    let found = describe(&other);
                    return Err(
                        self.err_at(token.pos, format!("expected ',' or ']', found {found}"))
                    );
                }
            }
        }
    }
}

/// Integers stay integers when they fit; everything else is an `f64` (the lexer checked it is
/// finite).
fn number(text: &str) -> Number {
    if let Ok(n) = text.parse::<u64>() {
        return Number::from(n);
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .unwrap_or_else(|| Number::from(0u64))
}

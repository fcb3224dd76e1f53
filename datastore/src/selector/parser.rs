//! The selector grammar, parsed with nom:
//!
//! ```text
//! selector = ws [ or ] ws EOF            (empty means all())
//! or       = and ( "||" and )*
//! and      = unary ( "&&" unary )*
//! unary    = "!" unary | primary
//! primary  = "(" or ")" | "all" "(" ")" | "has" "(" key ")" | key op
//! op       = "==" str | "!=" str | "in" set | "not" "in" set
//!          | "contains" str | "starts" "with" str | "ends" "with" str
//! set      = "{" [ str ( "," str )* ] "}"
//! str      = "'" chars "'" | '"' chars '"'
//! key      = [A-Za-z0-9_./-]+
//! ```

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use nom::bytes::complete::{tag, take_till, take_while1};
use nom::character::complete::{multispace0, multispace1};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use super::Expr;

/// A selector that does not parse: where, what was expected there, and what was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector {selector:?} at position {position}: expected {}, found {found}", or_list(.expected))]
pub struct SelectorError {
    /// The selector text.
    pub selector: String,
    /// Byte offset of the problem in the text.
    pub position: usize,
    /// What would have been accepted there.
    pub expected: Vec<String>,
    /// What is there instead (`end of selector` at the end).
    pub found: String,
}

fn or_list(items: &[String]) -> String {
    match items {
        [] => "a valid selector".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What the parser wanted at a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    /// A literal token, shown in backticks.
    Token(&'static str),
    /// A description.
    Thing(&'static str),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Token(t) => write!(f, "`{t}`"),
            Expected::Thing(t) => f.write_str(t),
        }
    }
}

/// nom error: the remaining input where parsing failed, and what was expected.
#[derive(Clone, Debug)]
struct PErr<'a> {
    at: &'a str,
    expected: Vec<Expected>,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _: ErrorKind) -> Self {
        PErr {
            at: input,
            expected: Vec::new(),
        }
    }

    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two alternatives, keep the one that got further; at a tie, merge.
    fn or(mut self, other: Self) -> Self {
        match self.at.len().cmp(&other.at.len()) {
            Ordering::Less => self,
            Ordering::Greater => other,
            Ordering::Equal => {
                for e in other.expected {
                    if !self.expected.contains(&e) {
                        self.expected.push(e);
                    }
                }
                self
            }
        }
    }
}

type Res<'a, T> = IResult<&'a str, T, PErr<'a>>;

fn fail<'a, T>(at: &'a str, expected: &[Expected]) -> Res<'a, T> {
    Err(nom::Err::Error(PErr {
        at,
        expected: expected.to_vec(),
    }))
}

fn commit<T>(r: Res<'_, T>) -> Res<'_, T> {
    r.map_err(|e| match e {
        nom::Err::Error(e) => nom::Err::Failure(e),
        other => other,
    })
}

/// Skips whitespace, then matches `t`, naming it in the error.
fn tok<'a>(t: &'static str) -> impl Fn(&'a str) -> Res<'a, &'a str> {
    move |i: &'a str| {
        let (i, _) = multispace0(i)?;
        match tag::<_, _, PErr<'a>>(t).parse(i) {
            Ok(ok) => Ok(ok),
            Err(_) => fail(i, &[Expected::Token(t)]),
        }
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

fn key(i: &str) -> Res<'_, String> {
    let (i, _) = multispace0(i)?;
    match take_while1::<_, _, PErr<'_>>(is_key_char).parse(i) {
        Ok((rest, k)) => Ok((rest, k.to_string())),
        Err(_) => fail(i, &[Expected::Thing("a label key")]),
    }
}

fn string(i: &str) -> Res<'_, String> {
    let (i, _) = multispace0(i)?;
    let Some(quote) = i.chars().next().filter(|c| *c == '\'' || *c == '"') else {
        return fail(i, &[Expected::Thing("a quoted string")]);
    };
    let body = &i[1..];
    let (rest, text) = take_till::<_, _, PErr<'_>>(|c| c == quote).parse(body)?;
    if rest.is_empty() {
        let what = if quote == '\'' {
            Expected::Thing("a closing `'`")
        } else {
            Expected::Thing("a closing `\"`")
        };
        return fail(rest, &[what]);
    }
    Ok((&rest[1..], text.to_string()))
}

fn set(i: &str) -> Res<'_, BTreeSet<String>> {
    let (mut i, _) = tok("{")(i)?;
    let mut values = BTreeSet::new();
    if let Ok((rest, _)) = tok("}")(i) {
        return Ok((rest, values));
    }
    loop {
        let (rest, v) = match string(i) {
            Ok(ok) => ok,
            Err(_) if values.is_empty() => {
                let (at, _) = multispace0(i)?;
                return fail(
                    at,
                    &[Expected::Thing("a quoted string"), Expected::Token("}")],
                );
            }
            Err(e) => return Err(e),
        };
        values.insert(v);
        if let Ok((rest, _)) = tok("}")(rest) {
            return Ok((rest, values));
        }
        match tok(",")(rest) {
            Ok((rest, _)) => i = rest,
            Err(_) => {
                let (at, _) = multispace0(rest)?;
                return fail(at, &[Expected::Token(","), Expected::Token("}")]);
            }
        }
    }
}

const OPERATORS: &[Expected] = &[
    Expected::Token("=="),
    Expected::Token("!="),
    Expected::Token("in"),
    Expected::Token("not in"),
    Expected::Token("contains"),
    Expected::Token("starts with"),
    Expected::Token("ends with"),
];

/// Two words separated by whitespace (`not in`, `starts with`).
fn word2<'a>(i: &'a str, first: &'static str, second: &'static str) -> Res<'a, ()> {
    let (i, _) = tag(first).parse(i)?;
    let (i, _) = multispace1(i)?;
    let (i, _) = tag(second).parse(i)?;
    Ok((i, ()))
}

/// The operator and operand after a label key.
fn operation(k: String, i: &str) -> Res<'_, Expr> {
    let (i, _) = multispace0(i)?;
    if let Ok((rest, _)) = tag::<_, _, PErr<'_>>("==").parse(i) {
        return string(rest).map(|(r, v)| (r, Expr::Eq(k, v)));
    }
    if let Ok((rest, _)) = tag::<_, _, PErr<'_>>("!=").parse(i) {
        return string(rest).map(|(r, v)| (r, Expr::Ne(k, v)));
    }
    if let Ok((rest, _)) = word2(i, "not", "in") {
        return set(rest).map(|(r, s)| (r, Expr::NotIn(k, s)));
    }
    if let Ok((rest, _)) = tag::<_, _, PErr<'_>>("in").parse(i) {
        return set(rest).map(|(r, s)| (r, Expr::In(k, s)));
    }
    if let Ok((rest, _)) = tag::<_, _, PErr<'_>>("contains").parse(i) {
        return string(rest).map(|(r, v)| (r, Expr::Contains(k, v)));
    }
    if let Ok((rest, _)) = word2(i, "starts", "with") {
        return string(rest).map(|(r, v)| (r, Expr::StartsWith(k, v)));
    }
    if let Ok((rest, _)) = word2(i, "ends", "with") {
        return string(rest).map(|(r, v)| (r, Expr::EndsWith(k, v)));
    }
    fail(i, OPERATORS)
}

/// `"(" ws ")"` after `all` or `has`, allowing whitespace.
fn call_open(i: &str) -> Res<'_, ()> {
    let (i, _) = tok("(")(i)?;
    Ok((i, ()))
}

fn primary(i: &str) -> Res<'_, Expr> {
    let (i, _) = multispace0(i)?;
    if let Ok((rest, _)) = tag::<_, _, PErr<'_>>("(").parse(i) {
        let (rest, e) = commit(or_expr(rest))?;
        return match tok(")")(rest) {
            Ok((rest, _)) => Ok((rest, e)),
            Err(_) => {
                let (at, _) = multispace0(rest)?;
                commit(fail(
                    at,
                    &[
                        Expected::Token("&&"),
                        Expected::Token("||"),
                        Expected::Token(")"),
                    ],
                ))
            }
        };
    }
    // `all()` and `has(k)`: only when followed by `(`, so `all` and `has` stay
    // usable as label keys.
    if let Ok((rest, _)) = tag::<_, _, PErr<'_>>("all").and(call_open).parse(i) {
        let (rest, _) = commit(tok(")")(rest))?;
        return Ok((rest, Expr::All));
    }
    if let Ok((rest, _)) = tag::<_, _, PErr<'_>>("has").and(call_open).parse(i) {
        let (rest, k) = commit(key(rest))?;
        let (rest, _) = commit(tok(")")(rest))?;
        return Ok((rest, Expr::Has(k)));
    }
    let Ok((rest, k)) = key(i) else {
        return fail(
            i,
            &[
                Expected::Thing("a label key"),
                Expected::Token("has("),
                Expected::Token("all()"),
                Expected::Token("!"),
                Expected::Token("("),
            ],
        );
    };
    commit(operation(k, rest))
}

fn unary(i: &str) -> Res<'_, Expr> {
    if let Ok((rest, _)) = tok("!")(i) {
        let (rest, e) = commit(unary(rest))?;
        return Ok((rest, Expr::Not(Box::new(e))));
    }
    primary(i)
}

fn chain<'a>(
    i: &'a str,
    op: &'static str,
    item: fn(&'a str) -> Res<'a, Expr>,
    build: fn(Vec<Expr>) -> Expr,
) -> Res<'a, Expr> {
    let (mut i, first) = item(i)?;
    let mut items = vec![first];
    while let Ok((rest, _)) = tok(op)(i) {
        let (rest, e) = commit(item(rest))?;
        items.push(e);
        i = rest;
    }
    let e = if items.len() == 1 {
        items.swap_remove(0)
    } else {
        build(items)
    };
    Ok((i, e))
}

fn and_expr(i: &str) -> Res<'_, Expr> {
    chain(i, "&&", unary, Expr::And)
}

fn or_expr(i: &str) -> Res<'_, Expr> {
    chain(i, "||", and_expr, Expr::Or)
}

/// Parses a whole selector.
pub(super) fn parse(text: &str) -> Result<Expr, SelectorError> {
    let to_error = |e: PErr<'_>| {
        let position = text.len() - e.at.len();
        let found = match e.at.chars().next() {
            None => "end of selector".to_string(),
            Some(_) => {
                let word: String =
                    e.at.chars()
                        .take_while(|c| !c.is_whitespace())
                        .take(12)
                        .collect();
                format!("{word:?}")
            }
        };
        SelectorError {
            selector: text.to_string(),
            position,
            expected: e.expected.iter().map(ToString::to_string).collect(),
            found,
        }
    };
    if text.trim().is_empty() {
        return Ok(Expr::All);
    }
    match or_expr(text) {
        Ok((rest, e)) => {
            let rest = rest.trim_start();
            if rest.is_empty() {
                Ok(e)
            } else {
                Err(to_error(PErr {
                    at: rest,
                    expected: vec![
                        Expected::Token("&&"),
                        Expected::Token("||"),
                        Expected::Thing("end of selector"),
                    ],
                }))
            }
        }
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(to_error(e)),
        Err(nom::Err::Incomplete(_)) => Err(to_error(PErr {
            at: "",
            expected: Vec::new(),
        })),
    }
}

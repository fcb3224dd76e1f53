//! Calico's label selector language, as used by `nodeSelector`, `peerSelector` and
//! policy `selector` fields (libcalico-go `lib/selector`).
//!
//! | expression                | matches when                                  |
//! |---------------------------|-----------------------------------------------|
//! | `all()` or empty          | always                                        |
//! | `has(k)`                  | label `k` is present                          |
//! | `k == 'v'`                | `k` is present and equals `v`                 |
//! | `k != 'v'`                | `k` is absent or differs from `v`             |
//! | `k in {'a', 'b'}`         | `k` is present and one of the values          |
//! | `k not in {'a', 'b'}`     | `k` is absent or none of the values           |
//! | `k contains 's'`          | `k` is present and contains `s`               |
//! | `k starts with 's'`       | `k` is present and starts with `s`            |
//! | `k ends with 's'`         | `k` is present and ends with `s`              |
//! | `!e`, `a && b`, `a \|\| b`  | negation, conjunction, disjunction            |
//!
//! `!` binds tighter than `&&`, which binds tighter than `||`; parentheses group.
//! Strings are in single or double quotes, without escapes. Label keys are made of
//! letters, digits, `_`, `-`, `.` and `/`.
//!
//! ```
//! use reflex_datastore::selector::Selector;
//! use std::collections::BTreeMap;
//!
//! let sel: Selector = "has(route-reflector) && zone in {'a', 'b'}".parse().unwrap();
//! let labels = BTreeMap::from([
//!     ("route-reflector".to_string(), "true".to_string()),
//!     ("zone".to_string(), "b".to_string()),
//! ]);
//! assert!(sel.matches(&labels));
//!
//! let err = "zone = 'a'".parse::<Selector>().unwrap_err();
//! assert_eq!(err.position, 5);
//! ```

mod parser;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

pub use parser::SelectorError;

/// A selector expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `all()`: matches everything.
    All,
    /// `has(k)`.
    Has(String),
    /// `k == 'v'`.
    Eq(String, String),
    /// `k != 'v'`.
    Ne(String, String),
    /// `k in {...}`.
    In(String, BTreeSet<String>),
    /// `k not in {...}`.
    NotIn(String, BTreeSet<String>),
    /// `k contains 's'`.
    Contains(String, String),
    /// `k starts with 's'`.
    StartsWith(String, String),
    /// `k ends with 's'`.
    EndsWith(String, String),
    /// `!e`.
    Not(Box<Expr>),
    /// `a && b && ...` (two or more).
    And(Vec<Expr>),
    /// `a || b || ...` (two or more).
    Or(Vec<Expr>),
}

/// Something labels can be read from.
pub trait LabelLookup {
    /// The value of label `key`, if present.
    fn label(&self, key: &str) -> Option<&str>;
}

impl LabelLookup for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl LabelLookup for HashMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Expr {
    /// Evaluates the expression on a label set.
    pub fn matches<L: LabelLookup + ?Sized>(&self, labels: &L) -> bool {
        match self {
            Expr::All => true,
            Expr::Has(k) => labels.label(k).is_some(),
            Expr::Eq(k, v) => labels.label(k) == Some(v.as_str()),
            Expr::Ne(k, v) => labels.label(k) != Some(v.as_str()),
            Expr::In(k, set) => labels.label(k).is_some_and(|v| set.contains(v)),
            Expr::NotIn(k, set) => !labels.label(k).is_some_and(|v| set.contains(v)),
            Expr::Contains(k, s) => labels.label(k).is_some_and(|v| v.contains(s.as_str())),
            Expr::StartsWith(k, s) => labels.label(k).is_some_and(|v| v.starts_with(s.as_str())),
            Expr::EndsWith(k, s) => labels.label(k).is_some_and(|v| v.ends_with(s.as_str())),
            Expr::Not(e) => !e.matches(labels),
            Expr::And(es) => es.iter().all(|e| e.matches(labels)),
            Expr::Or(es) => es.iter().any(|e| e.matches(labels)),
        }
    }
}

fn write_str_lit(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    // Calico strings have no escapes: quote with whichever quote the text lacks.
    if s.contains('"') {
        write!(f, "'{s}'")
    } else {
        write!(f, "\"{s}\"")
    }
}

fn write_set(f: &mut fmt::Formatter<'_>, set: &BTreeSet<String>) -> fmt::Result {
    f.write_str("{")?;
    for (i, v) in set.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_str_lit(f, v)?;
    }
    f.write_str("}")
}

impl fmt::Display for Expr {
    /// A canonical text form that parses back into the same expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::All => f.write_str("all()"),
            Expr::Has(k) => write!(f, "has({k})"),
            Expr::Eq(k, v) => {
                write!(f, "{k} == ")?;
                write_str_lit(f, v)
            }
            Expr::Ne(k, v) => {
                write!(f, "{k} != ")?;
                write_str_lit(f, v)
            }
            Expr::In(k, set) => {
                write!(f, "{k} in ")?;
                write_set(f, set)
            }
            Expr::NotIn(k, set) => {
                write!(f, "{k} not in ")?;
                write_set(f, set)
            }
            Expr::Contains(k, s) => {
                write!(f, "{k} contains ")?;
                write_str_lit(f, s)
            }
            Expr::StartsWith(k, s) => {
                write!(f, "{k} starts with ")?;
                write_str_lit(f, s)
            }
            Expr::EndsWith(k, s) => {
                write!(f, "{k} ends with ")?;
                write_str_lit(f, s)
            }
            Expr::Not(e) => match **e {
                Expr::And(_) | Expr::Or(_) => write!(f, "!({e})"),
                _ => write!(f, "!{e}"),
            },
            Expr::And(es) => join(f, es, " && ", |e| matches!(e, Expr::Or(_))),
            Expr::Or(es) => join(f, es, " || ", |_| false),
        }
    }
}

fn join(
    f: &mut fmt::Formatter<'_>,
    es: &[Expr],
    sep: &str,
    needs_parens: impl Fn(&Expr) -> bool,
) -> fmt::Result {
    for (i, e) in es.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if needs_parens(e) {
            write!(f, "({e})")?;
        } else {
            write!(f, "{e}")?;
        }
    }
    Ok(())
}

/// A parsed selector, with the text it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Selector {
    source: String,
    expr: Expr,
}

impl Selector {
    /// The selector that matches everything (`all()`).
    pub fn all() -> Self {
        Selector {
            source: "all()".to_string(),
            expr: Expr::All,
        }
    }

    /// Parses a selector; the empty string means `all()`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Ok(Selector {
            source: text.to_string(),
            expr: parser::parse(text)?,
        })
    }

    /// Whether the labels match.
    pub fn matches<L: LabelLookup + ?Sized>(&self, labels: &L) -> bool {
        self.expr.matches(labels)
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The text as given.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

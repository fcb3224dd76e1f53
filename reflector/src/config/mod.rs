//! The reflector's TOML configuration: parsing with line and column
//! numbers, semantic validation, and conversion into the speaker's types.
//!
//! [`parse`] runs three stages and reports every finding of the stage that
//! failed as a [`Report`]:
//! 1. TOML syntax (`toml`'s parser, with its span);
//! 2. the schema ([`schema`], unknown keys are errors), with the field path
//!    tracked by `serde_path_to_error` and the span of the offending value;
//! 3. semantic checks ([`validate()`]), whose field paths are located in
//!    the document's spanned tree.
//!
//! Warnings never reject a file; they come back in [`Checked::report`].
//! [`convert()`] turns a checked file into a [`ReflectorConfig`].
//!
//! Without a file the daemon runs [`DEFAULT_CONFIG`], the text of
//! `examples/reflector/default.toml` compiled in.

pub mod convert;
pub mod errors;
pub mod policy;
pub mod router_id;
pub mod schema;
pub mod validate;
pub mod values;

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

pub use convert::{NeighborPlan, ReflectorConfig, convert};
pub use errors::{Diagnostic, FieldPath, Location, Problem, Report, Segment, Severity};
pub use schema::ConfigFile;
pub use validate::validate;

/// The embedded default configuration (`examples/reflector/default.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../../examples/reflector/default.toml");

/// The name the embedded default goes by in messages.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded default.toml>";

/// A file that parsed and passed validation, with its warnings.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The configuration.
    pub file: ConfigFile,
    /// Warnings (no errors).
    pub report: Report,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The file has errors.
    #[error("{0}")]
    Invalid(Report),
}

/// Parse and validate `text`; `source` names it in messages.
///
/// ```
/// let checked = bgp_reflector::config::parse("r.toml", "[global]\nasn = 65000\n[[dynamic]]\nprefix = \"10.0.0.0/8\"\n").unwrap();
/// assert_eq!(checked.file.global.asn, 65000);
/// ```
pub fn parse(source: &str, text: &str) -> Result<Checked, Report> {
    let report = |diagnostics| Report {
        source: source.to_string(),
        diagnostics,
    };
    let tree = match DeTable::parse(text) {
        Ok(tree) => tree,
        Err(error) => {
            let mut diagnostic = Diagnostic::new(
                FieldPath::root(),
                Problem::Syntax {
                    message: error.message().to_string(),
                },
            );
            diagnostic.location = error.span().map(|s| Location::of_offset(text, s.start));
            return Err(report(vec![diagnostic]));
        }
    };
    let deserializer = toml::Deserializer::from(tree.clone());
    let file: ConfigFile = match serde_path_to_error::deserialize(deserializer) {
        Ok(file) => file,
        Err(error) => {
            let path = FieldPath::from_serde(error.path());
            let span = error.inner().span();
            let message = error.inner().message().to_string();
            let mut diagnostic = Diagnostic::new(path.clone(), Problem::Schema { message });
            diagnostic.location = span
                .or_else(|| locate(&tree, &path))
                .map(|s| Location::of_offset(text, s.start));
            return Err(report(vec![diagnostic]));
        }
    };
    let mut diagnostics = validate(&file);
    for diagnostic in &mut diagnostics {
        diagnostic.location =
            locate(&tree, &diagnostic.path).map(|s| Location::of_offset(text, s.start));
    }
    diagnostics.sort_by_key(|d| d.location);
    let report = report(diagnostics);
    if report.has_errors() {
        Err(report)
    } else {
        Ok(Checked { file, report })
    }
}

/// Read and [`parse`] a file.
pub fn load(path: &Path) -> Result<Checked, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&path.display().to_string(), &text).map_err(LoadError::Invalid)
}

/// The span of the deepest value along `path` that exists in the document
/// (the value itself, or the table that lacks the key).
pub fn locate(tree: &toml::Spanned<DeTable<'_>>, path: &FieldPath) -> Option<Range<usize>> {
    let mut span = None;
    let mut current: Option<&DeValue<'_>> = None;
    let root = tree.get_ref();
    for segment in &path.0 {
        let next = match (current, segment) {
            (None, Segment::Key(key)) => root.get(key.as_str()),
            (Some(value), Segment::Key(key)) => value.get(key.as_str()),
            (Some(value), Segment::Index(index)) => value.get(*index),
            (None, Segment::Index(_)) => None,
        };
        match next {
            Some(value) => {
                span = Some(value.span());
                current = Some(value.get_ref());
            }
            None => break,
        }
    }
    span.or_else(|| path.is_root().then(|| tree.span().start..tree.span().start))
}

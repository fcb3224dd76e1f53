//! Structured logs with `tracing-subscriber`: text or JSON lines (one
//! object per event, fields flattened) on standard error.
//!
//! The filter is the first of: `--log-level`, `RUST_LOG`, `[logging]
//! level`, `info`; the format `--log-format`, then `[logging] format`.
//! The reflector's `logging` module does the same.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub use crate::config::schema::LogFormat;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The filter does not parse.
    #[error("invalid log filter `{filter}`: {source}")]
    Filter {
        /// The filter.
        filter: String,
        /// The parser's error.
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber is installed already.
    #[error("logging is already set up: {0}")]
    Init(String),
}

/// The filter to use: `flag`, else `RUST_LOG` (unless blank), else `config`, else `info`.
pub fn choose_filter(flag: Option<&str>, env: Option<&str>, config: Option<&str>) -> String {
    flag.or(env.filter(|e| !e.trim().is_empty()))
        .or(config)
        .unwrap_or("info")
        .to_string()
}

/// Install the global subscriber.
pub fn init(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
    let env_filter = EnvFilter::try_new(filter).map_err(|source| LoggingError::Filter {
        filter: filter.to_string(),
        source,
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| LoggingError::Init(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::choose_filter;

    #[test]
    fn flag_then_environment_then_file_then_info() {
        assert_eq!(
            choose_filter(Some("debug"), Some("warn"), Some("error")),
            "debug"
        );
        assert_eq!(choose_filter(None, Some("warn"), Some("error")), "warn");
        assert_eq!(choose_filter(None, Some(" "), Some("error")), "error");
        assert_eq!(choose_filter(None, None, None), "info");
    }
}

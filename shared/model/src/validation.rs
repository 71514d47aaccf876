//! Validation results: every problem at once, each with a JSON pointer and a message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One thing wrong with an input, at a JSON pointer into it (`/actions/2/template`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// Everything wrong with an input. Empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        let mut problems = Self::default();
        problems.push(path, message);
        problems
    }

    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn as_slice(&self) -> &[Problem] {
        &self.0
    }

    /// The same problems with `prefix` put before every path (`/definition` + `/name`).
    pub fn under(self, prefix: &str) -> Problems {
        Problems(
            self.0
                .into_iter()
                .map(|p| Problem {
                    path: format!("{prefix}{}", p.path),
                    message: p.message,
                })
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// `Ok(value)` when there is no problem.
    pub fn into_result<T>(self, value: T) -> Result<T, Problems> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Whether some problem sits at `path` (tests and callers mapping to field errors).
    pub fn has(&self, path: &str) -> bool {
        self.0.iter().any(|p| p.path == path)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", p.path, p.message)?;
        }
        Ok(())
    }
}

/// Escapes a key for use as one JSON pointer segment (RFC 6901).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

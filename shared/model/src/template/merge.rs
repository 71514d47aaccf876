//! Merge fields: `#FieldName` and `#{Field label with spaces}` in titles, descriptions, email,
//! SMS and ZNS texts. Parsed once against the schema (an unknown field is an error naming it),
//! rendered many times.

use chrono_tz::Tz;

use super::format::{DisplayNames, write_value};
use crate::record::Record;
use crate::schema::ModuleSchema;

/// Whether rendered field values go into HTML (and must be escaped) or plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    Html,
    Plain,
}

/// A text with merge fields, checked against a module's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTemplate {
    segments: Vec<Segment>,
    /// Bytes of literal text, to size the output once.
    literal_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// Index of the field in the module schema.
    Field(usize),
}

/// Why a text is not a valid merge template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("unknown merge field '{name}' (write ## for a literal #)")]
    UnknownField { name: String },
    #[error("merge field opened with #{{ at character {at} is never closed")]
    Unclosed { at: usize },
}

/// What rendering needs besides the record.
pub struct RenderContext<'a> {
    pub tz: Tz,
    pub names: &'a dyn DisplayNames,
    pub escape: Escape,
}

impl MergeTemplate {
    /// Parses `text`, returning every problem at once.
    pub fn parse(text: &str, schema: &ModuleSchema) -> Result<Self, Vec<MergeError>> {
        let mut segments = Vec::new();
        let mut errors = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c != '#' {
                literal.push(c);
                continue;
            }
            let name = match chars.peek() {
                Some((_, '#')) => {
                    chars.next();
                    literal.push('#');
                    continue;
                }
                Some((_, '{')) => {
                    chars.next();
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        errors.push(MergeError::Unclosed { at });
                        break;
                    }
                    name.trim().to_owned()
                }
                Some((_, c)) if c.is_ascii_alphabetic() => {
                    let mut name = String::new();
                    while let Some(&(_, c)) = chars.peek() {
                        if !(c.is_ascii_alphanumeric() || c == '_') {
                            break;
                        }
                        name.push(c);
                        chars.next();
                    }
                    name
                }
                // '#' before a space, digit or the end is just a character ("#1", "số #").
                _ => {
                    literal.push('#');
                    continue;
                }
            };
            match schema.field_index_by_name_or_label(&name) {
                Some(index) => {
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Field(index));
                }
                None => errors.push(MergeError::UnknownField { name }),
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let literal_len = segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => l.len(),
                Segment::Field(_) => 0,
            })
            .sum();
        Ok(Self {
            segments,
            literal_len,
        })
    }

    /// The code names of the fields the template uses, in order of appearance.
    pub fn fields<'s>(&'s self, schema: &'s ModuleSchema) -> impl Iterator<Item = &'s str> + 's {
        self.segments.iter().filter_map(move |s| match s {
            Segment::Field(i) => schema.fields().get(*i).map(|f| f.name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Renders the template for `record`. `schema` must be the one it was parsed with. Empty
    /// fields render as nothing.
    pub fn render(
        &self,
        schema: &ModuleSchema,
        record: &Record,
        ctx: &RenderContext<'_>,
    ) -> String {
        let mut out = String::with_capacity(self.literal_len + 16 * self.segments.len());
        let mut value_text = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Field(index) => {
                    let Some(def) = schema.fields().get(*index) else {
                        continue;
                    };
                    let Some(value) = record.get(&def.name) else {
                        continue;
                    };
                    value_text.clear();
                    write_value(&mut value_text, def, value, ctx.tz, ctx.names);
                    match ctx.escape {
                        Escape::Plain => out.push_str(&value_text),
                        Escape::Html => escape_html_into(&mut out, &value_text),
                    }
                }
            }
        }
        out
    }
}

/// Appends `text` with `& < > " '` escaped.
pub fn escape_html_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;

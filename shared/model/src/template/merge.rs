//! Merge fields: `#FieldName` and `#{Field label with spaces}` in titles, descriptions, email,
//! SMS and ZNS texts. Parsed once against the schema (an unknown field is an error naming it),
//! rendered many times.

use chrono_tz::Tz;

use super::format::{DisplayNames, write_value};
use super::names::Wanted;
use crate::record::{FieldValue, Record};
use crate::schema::{FieldDef, FieldKind, Module, ModuleSchema, Schema};

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
    Field(FieldRef),
}

/// A merge field: a field of the module, maybe one part of the user or record it names, and the
/// text shown when it is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRef {
    /// Index of the field in the module schema.
    index: usize,
    part: Option<Part>,
    default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// `#Owner.Email`: a detail of the user a user field names.
    User(UserPart),
    /// `#Customer.Phone`: a field of the record a reference field names.
    Record { module: Module, def: Box<FieldDef> },
}

/// What of a user a merge field shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserPart {
    Name,
    Email,
    Phone,
}

impl UserPart {
    fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_lowercase();
        match lower.as_str() {
            "name" | "tên" | "họ và tên" => Some(UserPart::Name),
            "email" => Some(UserPart::Email),
            "phone" | "điện thoại" | "sđt" => Some(UserPart::Phone),
            _ => None,
        }
    }
}

/// Why a text is not a valid merge template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("unknown merge field '{name}' (write ## for a literal #)")]
    UnknownField { name: String },
    #[error(
        "'{field}' has no part '{part}' (a user field has Name, Email and Phone; a reference has the fields of its module)"
    )]
    UnknownPart { field: String, part: String },
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
    /// Parses `text` as a text of `module`, returning every problem at once. Besides `#Field` and
    /// `#{Label}`, a user or reference field takes a part (`#Owner.Email`,
    /// `#{Khách hàng.Điện thoại}`) and a braced field a default for when it is empty
    /// (`#{Tên khách hàng|Quý khách}`).
    pub fn parse(text: &str, schema: &Schema, module: Module) -> Result<Self, Vec<MergeError>> {
        let fields = schema.module(module);
        let mut segments = Vec::new();
        let mut errors = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c != '#' {
                literal.push(c);
                continue;
            }
            let field = match chars.peek() {
                Some((_, '#')) => {
                    chars.next();
                    literal.push('#');
                    continue;
                }
                Some((_, '{')) => {
                    chars.next();
                    let mut inside = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        inside.push(c);
                    }
                    if !closed {
                        errors.push(MergeError::Unclosed { at });
                        break;
                    }
                    braced(&inside, schema, fields)
                }
                Some((_, c)) if c.is_ascii_alphabetic() => {
                    let name = identifier(&mut chars);
                    match fields.field_index_by_name_or_label(&name) {
                        Some(index) => {
                            // `#Owner.Email`: a part only when it names one; otherwise the dot
                            // ends a sentence ("Chào #Name.").
                            let mut ahead = chars.clone();
                            let part = match ahead.next() {
                                Some((_, '.'))
                                    if ahead
                                        .peek()
                                        .is_some_and(|(_, c)| c.is_ascii_alphabetic()) =>
                                {
                                    let sub = identifier(&mut ahead);
                                    part_of(schema, &fields.fields()[index], &sub)
                                }
                                _ => None,
                            };
                            if part.is_some() {
                                chars = ahead;
                            }
                            Ok(FieldRef {
                                index,
                                part,
                                default: None,
                            })
                        }
                        None => Err(MergeError::UnknownField { name }),
                    }
                }
                // '#' before a space, digit or the end is just a character ("#1", "số #").
                _ => {
                    literal.push('#');
                    continue;
                }
            };
            match field {
                Ok(field) => {
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Field(field));
                }
                Err(error) => errors.push(error),
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

    /// The code names of the fields the template uses, in order of appearance (for a part, the
    /// user or reference field it is read through).
    pub fn fields<'s>(&'s self, schema: &'s ModuleSchema) -> impl Iterator<Item = &'s str> + 's {
        self.segments.iter().filter_map(move |s| match s {
            Segment::Field(f) => schema.fields().get(f.index).map(|f| f.name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Adds to `wanted` the users and records rendering needs for `record` that `names` does not
    /// know yet. Call again once they are known: a referenced record's user field (as in
    /// `#Customer.Owner`) is found only then.
    pub fn wanted(
        &self,
        schema: &ModuleSchema,
        record: &Record,
        names: &dyn DisplayNames,
        wanted: &mut Wanted,
    ) {
        for segment in &self.segments {
            let Segment::Field(field) = segment else {
                continue;
            };
            let Some(def) = schema.fields().get(field.index) else {
                continue;
            };
            if let (FieldKind::Users, Some(FieldValue::List(ids))) =
                (&def.kind, record.get(&def.name))
            {
                for id in ids {
                    wanted.user(names, id);
                }
                continue;
            }
            let Some(id) = record.get(&def.name).and_then(FieldValue::as_text) else {
                continue;
            };
            match (&def.kind, &field.part) {
                (FieldKind::User, _) => wanted.user(names, id),
                (FieldKind::Reference { module }, part) => match names.record(*module, id) {
                    None => wanted.record(*module, id),
                    Some(referenced) => {
                        if let Some(Part::Record { def, .. }) = part {
                            match (&def.kind, referenced.get(&def.name)) {
                                (FieldKind::User, Some(FieldValue::Text(user))) => {
                                    wanted.user(names, user);
                                }
                                (FieldKind::Users, Some(FieldValue::List(users))) => {
                                    for user in users {
                                        wanted.user(names, user);
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                },
                _ => {}
            }
        }
    }

    /// Renders the template for `record`. `schema` must be the one it was parsed with. An empty
    /// field, or a user or record not found, renders as the field's default or as nothing.
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
                Segment::Field(field) => {
                    value_text.clear();
                    if let Some(def) = schema.fields().get(field.index) {
                        write_field(&mut value_text, def, field, record, ctx);
                    }
                    let text = match &field.default {
                        Some(default) if value_text.trim().is_empty() => default.as_str(),
                        _ => value_text.as_str(),
                    };
                    match ctx.escape {
                        Escape::Plain => out.push_str(text),
                        Escape::Html => escape_html_into(&mut out, text),
                    }
                }
            }
        }
        out
    }
}

/// Appends what `field` shows for `record`.
fn write_field(
    out: &mut String,
    def: &FieldDef,
    field: &FieldRef,
    record: &Record,
    ctx: &RenderContext<'_>,
) {
    let Some(value) = record.get(&def.name) else {
        return;
    };
    match (&field.part, value.as_text()) {
        (None, _) => write_value(out, def, value, ctx.tz, ctx.names),
        (Some(Part::User(part)), Some(id)) => {
            if let Some(user) = ctx.names.user(id) {
                out.push_str(match part {
                    UserPart::Name => &user.name,
                    UserPart::Email => &user.email,
                    UserPart::Phone => user.phone.as_deref().unwrap_or(""),
                });
            }
        }
        (Some(Part::Record { module, def }), Some(id)) => {
            if let Some(value) = ctx
                .names
                .record(*module, id)
                .and_then(|referenced| referenced.get(&def.name))
            {
                write_value(out, def, value, ctx.tz, ctx.names);
            }
        }
        (Some(_), None) => {}
    }
}

/// `Owner` then maybe `.Email`: letters, digits and underscores.
fn identifier(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> String {
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

/// `#{…}`: a field by name or label, maybe `.part`, maybe `|default`.
fn braced(inside: &str, schema: &Schema, fields: &ModuleSchema) -> Result<FieldRef, MergeError> {
    let (name, default) = match inside.split_once('|') {
        Some((name, default)) => (name.trim(), Some(default.trim().to_owned())),
        None => (inside.trim(), None),
    };
    if let Some(index) = fields.field_index_by_name_or_label(name) {
        return Ok(FieldRef {
            index,
            part: None,
            default,
        });
    }
    let unknown = || MergeError::UnknownField {
        name: name.to_owned(),
    };
    let (field, part) = name.rsplit_once('.').ok_or_else(unknown)?;
    let index = fields
        .field_index_by_name_or_label(field.trim())
        .ok_or_else(unknown)?;
    let part =
        part_of(schema, &fields.fields()[index], part).ok_or_else(|| MergeError::UnknownPart {
            field: field.trim().to_owned(),
            part: part.trim().to_owned(),
        })?;
    Ok(FieldRef {
        index,
        part: Some(part),
        default,
    })
}

/// The part `sub` of a user or reference field, if it names one.
fn part_of(schema: &Schema, def: &FieldDef, sub: &str) -> Option<Part> {
    match &def.kind {
        FieldKind::User => UserPart::parse(sub).map(Part::User),
        // One level: a part that is itself a reference would name a record not looked up.
        FieldKind::Reference { module } => schema
            .module(*module)
            .field_by_name_or_label(sub.trim())
            .filter(|target| !matches!(target.kind, FieldKind::Reference { .. }))
            .map(|target| Part::Record {
                module: *module,
                def: Box::new(target.clone()),
            }),
        _ => None,
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

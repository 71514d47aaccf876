//! How big a record may get, so that every write fits DynamoDB's item and every listing page
//! Lambda's 6 MB response by construction: a page holds at most
//! [`crate::store::PageRequest::MAX_LIMIT`] records of at most [`MAX_RECORD_BYTES`] each.
//!
//! | kind | limit |
//! | --- | --- |
//! | text (names, descriptions, addresses, notes) | [`MAX_TEXT_CHARS`] characters |
//! | multi-select pick list | [`MAX_LIST_ITEMS`] values |
//! | order lines | [`MAX_LINE_ITEMS`] lines |
//! | the whole record, as stored JSON | [`MAX_RECORD_BYTES`] bytes |
//!
//! Person's writes beyond a limit get a 422 naming the field; an automation's write beyond it
//! (a merged text grown past the limit) fails its run for good with the same words.

use serde_json::{Map, Value};

use super::FieldValue;

pub const MAX_TEXT_CHARS: usize = 10_000;
pub const MAX_LIST_ITEMS: usize = 100;
pub const MAX_LINE_ITEMS: usize = 200;
pub const MAX_RECORD_BYTES: usize = 40 * 1024;

/// Why a field's value is too big, if it is.
pub fn value_problem(value: &FieldValue) -> Option<String> {
    match value {
        FieldValue::Text(text) => text_problem(text),
        FieldValue::List(items) if items.len() > MAX_LIST_ITEMS => Some(format!(
            "holds {} values; at most {MAX_LIST_ITEMS}",
            items.len()
        )),
        FieldValue::Lines(lines) if lines.len() > MAX_LINE_ITEMS => Some(format!(
            "holds {} lines; at most {MAX_LINE_ITEMS}",
            lines.len()
        )),
        _ => None,
    }
}

/// Why a text is too long, if it is.
pub fn text_problem(text: &str) -> Option<String> {
    let chars = text.chars().count();
    (chars > MAX_TEXT_CHARS)
        .then(|| format!("is {chars} characters long; at most {MAX_TEXT_CHARS}"))
}

/// Why a record's fields are too big to store, if they are.
pub fn record_problem(fields: &Map<String, Value>) -> Option<String> {
    let bytes = serde_json::to_vec(fields).map_or(usize::MAX, |v| v.len());
    (bytes > MAX_RECORD_BYTES).then(|| {
        format!(
            "the record would take {} KiB; a record holds at most {} KiB (shorten its longest texts)",
            bytes.div_ceil(1024),
            MAX_RECORD_BYTES / 1024
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_of_the_limit_passes_and_one_more_character_does_not() {
        assert_eq!(text_problem(&"ệ".repeat(MAX_TEXT_CHARS)), None);
        let over = text_problem(&"ệ".repeat(MAX_TEXT_CHARS + 1)).unwrap();
        assert_eq!(over, "is 10001 characters long; at most 10000");
    }

    #[test]
    fn a_full_page_of_the_biggest_records_fits_a_lambda_response() {
        let page = crate::store::PageRequest::MAX_LIMIT as usize * MAX_RECORD_BYTES;
        assert!(
            page < 5 * 1024 * 1024,
            "{page} bytes, with room for the envelope"
        );
    }

    #[test]
    fn a_record_is_measured_as_stored_json() {
        let mut fields = Map::new();
        fields.insert("Description".into(), Value::String("ệ".repeat(9_000)));
        assert_eq!(record_problem(&fields), None, "27 KiB of Vietnamese text");
        fields.insert("Note".into(), Value::String("ệ".repeat(9_000)));
        assert!(record_problem(&fields).unwrap().contains("at most 40 KiB"));
    }
}

//! A record as stored: plain JSON values, typed against the tenant's schema when read.

use crate::schema::Module;

/// A record as stored: its field values as plain JSON, typed against the tenant's schema when
/// read ([`StoredRecord::typed`]), since the schema (custom fields) belongs to the tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: crate::ids::RecordId,
    pub module: Module,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl StoredRecord {
    /// A text field's value, empty when absent or not text.
    pub fn text(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }

    pub fn typed(&self, schema: &crate::schema::Schema) -> crate::record::Record {
        let fields = crate::record::parse_fields(
            schema.module(self.module),
            &self.fields,
            "",
            crate::record::ParseMode::Stored,
        )
        // Stored mode ignores what no longer fits the schema rather than failing.
        .unwrap_or_default();
        crate::record::Record {
            id: self.id.clone(),
            module: self.module,
            fields,
        }
    }

    pub fn from_record(record: &crate::record::Record) -> Self {
        let fields = record
            .fields
            .iter()
            .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k.clone(), v)))
            .collect();
        Self {
            id: record.id.clone(),
            module: record.module,
            fields,
        }
    }
}

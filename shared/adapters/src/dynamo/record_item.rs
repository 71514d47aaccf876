//! The stored shape of a record in the records table, its key, and what the table's stream
//! carries: shared by the record store, the identity items written with customers, the run
//! ledger's effects and the stream reader.

use serde::{Deserialize, Serialize};

use super::{Item, s};
use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::{Revisioned, StoredRecord};
use crm_model::schema::Module;

pub const RECORD_SK: &str = "RECORD";

/// The stored shape of a record; also what the table's stream carries.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordItem {
    pub pk: String,
    pub sk: String,
    pub tenant: TenantId,
    pub id: RecordId,
    pub module: Module,
    pub revision: u64,
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    /// The record a workflow made this one for (a task's RelatedRecord): its open activities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3sk: Option<String>,
    /// Its owner's open records of the module (absent once closed): what allocation counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi4pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi4sk: Option<String>,
    /// The automation that wrote this item (absent when a person did): what the stream hands to
    /// the work workflows' loop guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automation: Option<crm_model::record::origin::AutomationWrite>,
}

impl RecordItem {
    pub fn new(tenant: &TenantId, record: &StoredRecord, revision: u64) -> Self {
        let updated = record
            .fields
            .get("UpdatedAt")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let customer = record.fields.get("Customer").and_then(|v| v.as_str());
        let linked = record.fields.get("RelatedRecord").and_then(|v| v.as_str());
        Self {
            pk: record_pk(tenant, &record.id),
            sk: RECORD_SK.to_owned(),
            tenant: tenant.clone(),
            id: record.id.clone(),
            module: record.module,
            revision,
            fields: record.fields.clone(),
            gsi1pk: format!("T#{tenant}#M#{}", record.module),
            gsi1sk: format!("{updated}#{}", record.id),
            // A customer's messages are its history, apart from its related lists (gsi2 either
            // way): `T#<tenant>#MSG#<customer>`, newest last by `message_key`.
            gsi2pk: customer.map(|c| match record.module {
                Module::Message => format!("T#{tenant}#MSG#{c}"),
                _ => format!("T#{tenant}#REF#{c}"),
            }),
            gsi2sk: customer.map(|_| match record.module {
                Module::Message => crm_model::record::store::message_key(record),
                _ => format!("{}#{}", record.module, record.id),
            }),
            gsi3pk: linked.map(|r| format!("T#{tenant}#LINK#{r}")),
            gsi3sk: linked.map(|_| format!("{}#{}", record.module, record.id)),
            gsi4pk: open_owner(record).map(|owner| open_pk(tenant, record.module, owner)),
            gsi4sk: open_owner(record).map(|_| record.id.to_string()),
            automation: None,
        }
    }

    pub fn into_stored(self) -> Revisioned<StoredRecord> {
        Revisioned {
            value: StoredRecord {
                id: self.id,
                module: self.module,
                fields: self.fields,
            },
            revision: self.revision,
        }
    }
}

/// The owner of a record that is open work ([`crm_model::allocation::is_open`]).
fn open_owner(record: &StoredRecord) -> Option<&str> {
    let status = record
        .fields
        .get(crm_model::allocation::status_field(record.module))
        .and_then(|v| v.as_str());
    crm_model::allocation::is_open(record.module, status)
        .then(|| record.fields.get("Owner").and_then(|v| v.as_str()))
        .flatten()
}

/// The open-records index partition of an owner's records of a module.
pub fn open_pk(tenant: &TenantId, module: Module, owner: &str) -> String {
    format!("T#{tenant}#OPEN#{module}#{owner}")
}

pub fn record_pk(tenant: &TenantId, id: &RecordId) -> String {
    format!("T#{tenant}#R#{id}")
}

pub(crate) fn key(tenant: &TenantId, id: &RecordId) -> Item {
    [
        ("pk".to_owned(), s(record_pk(tenant, id))),
        ("sk".to_owned(), s(RECORD_SK)),
    ]
    .into_iter()
    .collect()
}

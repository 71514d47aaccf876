//! Reading the records table's stream: the old and new images of an item, as a record change.

use crm_model::ids::TenantId;
use crm_model::record::origin::AutomationWrite;
use crm_model::schedule::record_events::Change;

use super::record_item::{RECORD_SK, RecordItem};

fn image(item: &serde_dynamo::Item) -> Option<RecordItem> {
    if item.is_empty() {
        return None;
    }
    serde_dynamo::from_item(item.clone())
        .ok()
        .filter(|r: &RecordItem| r.sk == RECORD_SK)
}

/// The tenant and change a stream record's images describe, when they are a CRM record's (users,
/// notifications and other items of the table are not), with the automation that made the
/// change (none for a person's write or a removal).
pub fn record_change(
    old: &serde_dynamo::Item,
    new: &serde_dynamo::Item,
) -> Option<(TenantId, Change, Option<AutomationWrite>)> {
    let new = image(new);
    let old = image(old);
    let tenant = new.as_ref().or(old.as_ref())?.tenant.clone();
    let origin = new.as_ref().and_then(|n| n.automation.clone());
    let change = match (old, new) {
        (None, Some(new)) => Change::Inserted(new.into_stored().value),
        (Some(old), Some(new)) => Change::Modified {
            old: old.into_stored().value,
            new: new.into_stored().value,
        },
        (Some(old), None) => Change::Removed(old.into_stored().value),
        (None, None) => return None,
    };
    Some((tenant, change, origin))
}

/// The request a stream record's images describe, when they are an approval request's: as it
/// was (none when just submitted) and as it is now. A removal is nothing to follow up.
pub fn approval_change(
    old: &serde_dynamo::Item,
    new: &serde_dynamo::Item,
) -> Option<(
    Option<crm_model::approval::request::ApprovalRequest>,
    crm_model::approval::request::ApprovalRequest,
)> {
    use super::approvals::{APPROVAL_SK_PREFIX, ApprovalItem};
    let request = |item: &serde_dynamo::Item| {
        if item.is_empty() {
            return None;
        }
        serde_dynamo::from_item::<_, ApprovalItem>(item.clone())
            .ok()
            .filter(|i| i.sk.starts_with(APPROVAL_SK_PREFIX))
            .map(|i| i.request)
    };
    Some((request(old), request(new)?))
}

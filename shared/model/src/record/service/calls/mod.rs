//! Calls through the tenant's VOIP switchboard (seed 003 §3.3): a user calls a customer's (or
//! contact's) number from the CRM, the switchboard rings the user's extension first; the
//! switchboard's call events, signed with the setting's secret key, become one Call record per
//! call, however often an event is repeated.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::Records;
use crate::action::SettingKind;
use crate::ids::{RecordId, SettingId, TenantId};
use crate::record::stored::StoredRecord;
use crate::run::providers::Switchboard;
use crate::settings::secrets::{GatewayKeys, SecretName, SecretVault};
use crate::store::{Revisioned, StoreError};
use crate::validation::Problems;

/// Largest call event the webhook reads, in bytes.
pub const MAX_CALL_EVENT_BYTES: usize = 16 * 1024;
/// How long a call asked for may stay unplaced before a request with its key asks again.
const REDIAL_AFTER_SECONDS: i64 = 30;

/// What a user asks for: a call to `phone` (the customer's or a contact's), under their key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    pub key: String,
    pub phone: String,
    #[serde(default)]
    pub contact: Option<RecordId>,
    /// The switchboard; the tenant's only one when absent.
    #[serde(default)]
    pub provider: Option<SettingId>,
}

/// A call placed, or found again under its key (`replayed`). A call the switchboard refused
/// reads `Failed`, with its reason in Description.
#[derive(Debug, Clone)]
pub struct Dialled {
    pub call: Revisioned<StoredRecord>,
    pub replayed: bool,
}

/// One event of a call, as the switchboard posts it.
/// Members it does not name are ignored: a switchboard adding one loses no event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallEvent {
    /// The switchboard's id of the call: one Call record per id.
    pub call_id: String,
    pub event: CallStage,
    pub direction: CallDirection,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub extension: Option<String>,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub duration_seconds: Option<u32>,
    #[serde(default)]
    pub recording_url: Option<String>,
    /// The CRM's id of a call a user placed from it.
    #[serde(default)]
    pub call_ref: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStage {
    Ringing,
    Answered,
    Ended,
    Missed,
}

impl CallStage {
    fn status(self) -> &'static str {
        match self {
            CallStage::Ringing => "Ringing",
            CallStage::Answered => "Answered",
            CallStage::Ended => "Ended",
            CallStage::Missed => "Missed",
        }
    }
}

/// How far a call's status has come: an event never takes it back.
fn rank(status: &str) -> u8 {
    match status {
        "Ringing" => 1,
        "Answered" => 2,
        "Ended" | "Missed" | "Failed" => 3,
        _ => 0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Inbound,
    Outbound,
}

/// Why a call event was not taken.
#[derive(Debug, thiserror::Error)]
pub enum CallEventError {
    /// No such switchboard, or one without credentials.
    #[error("no such switchboard")]
    NotFound,
    #[error("the signature does not match the switchboard's secret key")]
    BadSignature,
    #[error("the call event is not valid")]
    Invalid(Problems),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// The call use cases: the records, the switchboard, and the vault its keys are read from
/// (under the caller's tenant, or the tenant a valid signature proves).
pub struct Telephony<'a> {
    pub records: Records<'a>,
    pub switchboard: &'a dyn Switchboard,
    pub secrets: &'a dyn SecretVault,
}

mod dial;
mod events;

impl Telephony<'_> {
    async fn keys(
        &self,
        tenant: &TenantId,
        id: &SettingId,
    ) -> Result<Option<GatewayKeys>, StoreError> {
        let name = SecretName::for_setting(tenant, SettingKind::VoipProvider, id);
        Ok(self.secrets.get(&name).await?.and_then(|v| v.parse()))
    }
}

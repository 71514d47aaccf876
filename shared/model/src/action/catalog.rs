//! The settings and users actions may name, as validation sees them.

use serde::{Deserialize, Serialize};

use crate::ids::{SettingId, UserId};
use crate::schema::Module;

/// The settings actions reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    EmailTemplate,
    SmsTemplate,
    ZnsTemplate,
    PrintTemplate,
    EmailSender,
    SmsProvider,
    ZnsProvider,
    AllocationRule,
    TaskConnection,
    /// An action saved in the module's library, which workflows attach.
    LibraryAction,
    /// A web form that creates records from a website's submissions.
    WebForm,
    /// A VOIP switchboard users call customers through.
    VoipProvider,
    /// A user's mailbox, whose email history with customers the CRM reads.
    Mailbox,
}

/// What validation needs to know of a referenced setting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingInfo {
    /// The module a template or allocation rule belongs to.
    pub module: Option<Module>,
    /// The parameters of a ZNS template.
    pub parameters: Vec<String>,
}

/// The tenant's settings and users, as validation sees them.
pub trait Catalog {
    fn setting(&self, kind: SettingKind, id: &SettingId) -> Option<SettingInfo>;
    fn user_exists(&self, id: &UserId) -> bool;
}

/// A catalog held in memory: what the API loads for one validation, and what tests use.
#[derive(Debug, Clone, Default)]
pub struct MemoryCatalog {
    settings: std::collections::HashMap<(SettingKind, SettingId), SettingInfo>,
    users: std::collections::HashSet<UserId>,
}

impl MemoryCatalog {
    pub fn with_setting(mut self, kind: SettingKind, id: &str, info: SettingInfo) -> Self {
        if let Ok(id) = SettingId::new(id) {
            self.settings.insert((kind, id), info);
        }
        self
    }

    pub fn with_user(mut self, id: &str) -> Self {
        if let Ok(id) = UserId::new(id) {
            self.users.insert(id);
        }
        self
    }
}

impl Catalog for MemoryCatalog {
    fn setting(&self, kind: SettingKind, id: &SettingId) -> Option<SettingInfo> {
        self.settings.get(&(kind, id.clone())).cloned()
    }

    fn user_exists(&self, id: &UserId) -> bool {
        self.users.contains(id)
    }
}

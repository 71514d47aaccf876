//! In-app notifications: what task, hand-over, care-card and notification actions deliver to a
//! user, and the inbox port that keeps them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{RecordId, TenantId, UserId};
use crate::store::{Page, PageRequest, StoreError};

/// An in-app notification to a user (task assigned, card added, workflow message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub user: UserId,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordId>,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub read: bool,
}

impl Notification {
    /// How the console addresses a notification: its time and id, `<at>~<id>`, which locates it
    /// in the user's inbox without a search.
    pub fn key(&self) -> String {
        format!(
            "{}~{}",
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.id
        )
    }
}

/// In-app notifications of a user (what task, hand-over, care-card and notification actions
/// deliver).
#[async_trait]
pub trait NotificationInbox: Send + Sync {
    /// Newest first.
    async fn list(
        &self,
        tenant: &TenantId,
        user: &UserId,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>, StoreError>;

    /// Delivers a notification (once: the same id is stored once).
    async fn deliver(
        &self,
        tenant: &TenantId,
        notification: &Notification,
    ) -> Result<(), StoreError>;

    /// Marks one notification read; `NotFound` when the user has no such notification.
    async fn mark_read(
        &self,
        tenant: &TenantId,
        user: &UserId,
        id: &str,
    ) -> Result<Notification, StoreError>;
}

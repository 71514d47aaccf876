//! CRM users: the people actions assign tasks to, hand records over to and notify.

pub mod access;
pub mod directory;
pub mod membership;
pub mod notifications;
pub mod preferences;
pub mod service;

pub use notifications::Notification;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::record::is_plausible_email;
use crate::validation::Problems;

/// What a user may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Salesperson,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    pub role: Role,
    /// Whom the user reports to: "the submitter's manager" of approval steps, and where a
    /// step's deadline escalates (else their team's manager, `TenantSettings::team_managers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<UserId>,
    /// Inactive users keep their history but receive no new work.
    #[serde(default = "active")]
    pub active: bool,
}

fn active() -> bool {
    true
}

impl User {
    pub fn validate(&self) -> Problems {
        let mut problems = Problems::default();
        if self.name.trim().is_empty() {
            problems.push("/name", "is required");
        }
        if !is_plausible_email(&self.email) {
            problems.push("/email", "not an email address");
        }
        if self.manager.as_ref() == Some(&self.id) {
            problems.push("/manager", "a user cannot be their own manager");
        }
        if let Some(phone) = &self.phone {
            if crate::phone::normalize_vn(phone).is_none() {
                problems.push("/phone", "not a phone number");
            }
        }
        problems
    }
}

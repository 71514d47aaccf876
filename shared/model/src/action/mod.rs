//! "Immediate actions": the seven kinds of seed 000 plus the in-app notification of seed 001,
//! each with every setting the console offers.

mod catalog;
mod validate;

pub use catalog::{Catalog, MemoryCatalog, SettingInfo, SettingKind};
pub(crate) use validate::validate_with;

mod loaded;
pub use loaded::LoadedCatalog;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::ids::{ActionId, SettingId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    UpdateFields(UpdateFieldsAction),
    Email(EmailAction),
    Task(TaskAction),
    Handover(HandoverAction),
    Sms(SmsAction),
    Zns(ZnsAction),
    CareCard(CareCardAction),
    Notification(NotificationAction),
}

impl Action {
    pub fn id(&self) -> &ActionId {
        match self {
            Action::UpdateFields(a) => &a.id,
            Action::Email(a) => &a.id,
            Action::Task(a) => &a.id,
            Action::Handover(a) => &a.id,
            Action::Sms(a) => &a.id,
            Action::Zns(a) => &a.id,
            Action::CareCard(a) => &a.id,
            Action::Notification(a) => &a.id,
        }
    }

    /// The action under another id (a library action attached to a workflow).
    pub fn with_id(mut self, id: ActionId) -> Self {
        let slot = match &mut self {
            Action::UpdateFields(a) => &mut a.id,
            Action::Email(a) => &mut a.id,
            Action::Task(a) => &mut a.id,
            Action::Handover(a) => &mut a.id,
            Action::Sms(a) => &mut a.id,
            Action::Zns(a) => &mut a.id,
            Action::CareCard(a) => &mut a.id,
            Action::Notification(a) => &mut a.id,
        };
        *slot = id;
        self
    }

    pub fn name(&self) -> &str {
        match self {
            Action::UpdateFields(a) => &a.name,
            Action::Email(a) => &a.name,
            Action::Task(a) => &a.name,
            Action::Handover(a) => &a.name,
            Action::Sms(a) => &a.name,
            Action::Zns(a) => &a.name,
            Action::CareCard(a) => &a.name,
            Action::Notification(a) => &a.name,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            Action::UpdateFields(_) => "update_fields",
            Action::Email(_) => "email",
            Action::Task(_) => "task",
            Action::Handover(_) => "handover",
            Action::Sms(_) => "sms",
            Action::Zns(_) => "zns",
            Action::CareCard(_) => "care_card",
            Action::Notification(_) => "notification",
        }
    }

    /// Whether the action's effect leaves the system (a message to a provider), so that a crash
    /// between sending and recording cannot be rolled back.
    pub fn is_external_send(&self) -> bool {
        matches!(self, Action::Email(_) | Action::Sms(_) | Action::Zns(_))
    }
}

/// Which record an update or a recipient field is read from: the workflow's record, or the record
/// a reference field of it points to (an order's customer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldPath {
    /// A reference field of the workflow's module; absent means the record itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub field: String,
}

/// The value an update or a new record's field gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AssignedValue {
    /// A fixed value, typed by the target field.
    Literal { value: Value },
    /// A text with merge fields of the workflow's record (text fields only).
    Merge { text: String },
    /// Today in the firing time zone, plus some days (date and date-time fields).
    Today {
        #[serde(default)]
        offset_days: i32,
    },
    /// Empty the field.
    Clear {},
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldAssignment {
    pub field: String,
    pub value: AssignedValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateFieldsAction {
    pub id: ActionId,
    pub name: String,
    /// A reference field leading to the record to update; absent updates the record itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub values: Vec<FieldAssignment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentFormat {
    Pdf,
    /// The print template's own format (an HTML document).
    Original,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintAttachment {
    pub print_template: SettingId,
    pub format: AttachmentFormat,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailAction {
    pub id: ActionId,
    pub name: String,
    /// A sender identity setting.
    pub sender: SettingId,
    /// Email fields the addresses are read from (the customer's email).
    #[serde(default)]
    pub recipient_fields: Vec<FieldPath>,
    /// CRM users who also receive it.
    #[serde(default)]
    pub users: Vec<UserId>,
    #[serde(default)]
    pub extra_addresses: Vec<String>,
    /// Copied on every message, visible to its recipient (staff following the conversation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Copied on every message, unseen by its recipient.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    pub template: SettingId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<PrintAttachment>,
}

fn merged(values: &[FieldAssignment]) -> Vec<&str> {
    values
        .iter()
        .filter_map(|v| match &v.value {
            AssignedValue::Merge { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Who a task is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Assignee {
    User {
        user_id: UserId,
    },
    /// The record's owner at execution time.
    RecordOwner {},
    /// A user field of the record (an order's salesperson).
    Field {
        field: String,
    },
}

/// When something is due, counted from the moment the action runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueSpec {
    #[serde(default)]
    pub days_after: u32,
    /// Local time of day on that day; absent keeps the time the action runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_of_day: Option<NaiveTime>,
}

/// A care card's care date: N days after (or, negative, before) a date field of the order
/// (its order date, its delivery date) or the day the action runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareDateSpec {
    /// A date or date-time field of the order; absent counts from the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_field: Option<String>,
    /// Days after the base; negative for days before it.
    #[serde(default)]
    pub days_after: i32,
    /// Kept for cards counted from the run: the local time of day the day is taken at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_of_day: Option<NaiveTime>,
}

/// Outbound sync of a created task to an external task app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalTaskSync {
    /// The external connection setting (URL and signing secret).
    pub connection: SettingId,
    pub project: String,
    #[serde(default)]
    pub task_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskAction {
    pub id: ActionId,
    pub name: String,
    /// Merge text.
    pub title: String,
    /// Merge text.
    #[serde(default)]
    pub description: String,
    pub due: DueSpec,
    /// A value of the Task module's TaskType pick-list.
    pub task_type: String,
    /// A value of the Task module's Priority pick-list.
    pub priority: String,
    pub assignee: Assignee,
    #[serde(default)]
    pub related_users: Vec<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<PrintAttachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_sync: Option<ExternalTaskSync>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandoverTarget {
    User {
        user_id: UserId,
    },
    /// An allocation rule of the workflow's module picks the user.
    AllocationRule {
        rule: SettingId,
    },
}

/// Open activities that follow the record to its new owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Task,
    CareCard,
    Call,
    Meeting,
}

impl ActivityKind {
    pub fn module(self) -> crate::schema::Module {
        use crate::schema::Module;
        match self {
            ActivityKind::Task => Module::Task,
            ActivityKind::CareCard => Module::CareCard,
            ActivityKind::Call => Module::Call,
            ActivityKind::Meeting => Module::Meeting,
        }
    }

    /// The kind of a record of `module`, when it is one that follows its record.
    pub fn of(module: crate::schema::Module) -> Option<Self> {
        [
            ActivityKind::Task,
            ActivityKind::CareCard,
            ActivityKind::Call,
            ActivityKind::Meeting,
        ]
        .into_iter()
        .find(|k| k.module() == module)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverAction {
    pub id: ActionId,
    pub name: String,
    pub to: HandoverTarget,
    #[serde(default)]
    pub move_open_activities: Vec<ActivityKind>,
    /// Tell the new owner in the app.
    #[serde(default = "yes")]
    pub notify_new_owner: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsAction {
    pub id: ActionId,
    pub name: String,
    /// An SMS brandname provider setting.
    pub provider: SettingId,
    #[serde(default)]
    pub recipient_fields: Vec<FieldPath>,
    #[serde(default)]
    pub users: Vec<UserId>,
    pub template: SettingId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZnsAction {
    pub id: ActionId,
    pub name: String,
    /// A ZNS provider setting (Zalo OA credentials).
    pub provider: SettingId,
    /// The phone field the message goes to.
    pub recipient_field: FieldPath,
    #[serde(default)]
    pub users: Vec<UserId>,
    pub template: SettingId,
    /// Each ZNS template parameter → a merge text of the record.
    pub parameters: BTreeMap<String, String>,
}

/// Which items of an order get a care card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CareCardBasis {
    /// One card for the order.
    Order {},
    /// One card per product line; `only` empty means every product.
    Products {
        #[serde(default)]
        only: Vec<String>,
    },
    /// One card per product category; `only` empty means every category.
    ProductCategories {
        #[serde(default)]
        only: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CardOwner {
    User {
        user_id: UserId,
    },
    /// The order's salesperson.
    OrderSalesperson {},
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareCardAction {
    pub id: ActionId,
    pub name: String,
    pub based_on: CareCardBasis,
    pub owner: CardOwner,
    #[serde(default)]
    pub notify_owner: bool,
    /// The card layout shown in the app.
    pub layout: String,
    pub care_date: CareDateSpec,
    /// Fields of the card filled automatically.
    #[serde(default)]
    pub fields: Vec<FieldAssignment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationAction {
    pub id: ActionId,
    pub name: String,
    #[serde(default)]
    pub users: Vec<UserId>,
    /// Also notify the record's owner.
    #[serde(default)]
    pub notify_owner: bool,
    /// Merge text.
    pub message: String,
}

impl Action {
    /// The settings the action names, for loading what validation needs in one batch.
    pub fn settings(&self, out: &mut Vec<(SettingKind, SettingId)>) {
        let attachment = |a: &Option<PrintAttachment>, out: &mut Vec<_>| {
            if let Some(a) = a {
                out.push((SettingKind::PrintTemplate, a.print_template.clone()));
            }
        };
        match self {
            Action::UpdateFields(_) | Action::Notification(_) | Action::CareCard(_) => {}
            Action::Email(a) => {
                out.push((SettingKind::EmailSender, a.sender.clone()));
                out.push((SettingKind::EmailTemplate, a.template.clone()));
                attachment(&a.attachment, out);
            }
            Action::Task(a) => {
                attachment(&a.attachment, out);
                if let Some(sync) = &a.external_sync {
                    out.push((SettingKind::TaskConnection, sync.connection.clone()));
                }
            }
            Action::Handover(a) => {
                if let HandoverTarget::AllocationRule { rule } = &a.to {
                    out.push((SettingKind::AllocationRule, rule.clone()));
                }
            }
            Action::Sms(a) => {
                out.push((SettingKind::SmsProvider, a.provider.clone()));
                out.push((SettingKind::SmsTemplate, a.template.clone()));
            }
            Action::Zns(a) => {
                out.push((SettingKind::ZnsProvider, a.provider.clone()));
                out.push((SettingKind::ZnsTemplate, a.template.clone()));
            }
        }
    }

    /// The settings whose merge texts the action renders: its message template (SMS, email),
    /// then its print template.
    pub fn rendered_settings(&self) -> Vec<(SettingKind, &SettingId)> {
        let (template, print) = match self {
            Action::Sms(a) => (Some((SettingKind::SmsTemplate, &a.template)), None),
            Action::Email(a) => (
                Some((SettingKind::EmailTemplate, &a.template)),
                a.attachment.as_ref(),
            ),
            Action::Task(a) => (None, a.attachment.as_ref()),
            _ => (None, None),
        };
        template
            .into_iter()
            .chain(print.map(|p| (SettingKind::PrintTemplate, &p.print_template)))
            .collect()
    }

    /// The merge texts the action carries itself (its templates' texts live in settings).
    pub fn merge_texts(&self) -> Vec<&str> {
        match self {
            Action::UpdateFields(a) => merged(&a.values),
            Action::CareCard(a) => merged(&a.fields),
            Action::Task(a) => vec![a.title.as_str(), a.description.as_str()],
            Action::Notification(a) => vec![a.message.as_str()],
            Action::Zns(a) => a.parameters.values().map(String::as_str).collect(),
            Action::Email(_) | Action::Sms(_) | Action::Handover(_) => Vec::new(),
        }
    }

    /// The users the action names.
    pub fn users(&self, out: &mut Vec<UserId>) {
        match self {
            Action::UpdateFields(_) => {}
            Action::Email(a) => out.extend(a.users.iter().cloned()),
            Action::Task(a) => {
                if let Assignee::User { user_id } = &a.assignee {
                    out.push(user_id.clone());
                }
                out.extend(a.related_users.iter().cloned());
            }
            Action::Handover(a) => {
                if let HandoverTarget::User { user_id } = &a.to {
                    out.push(user_id.clone());
                }
            }
            Action::Sms(a) => out.extend(a.users.iter().cloned()),
            Action::Zns(a) => out.extend(a.users.iter().cloned()),
            Action::CareCard(a) => {
                if let CardOwner::User { user_id } = &a.owner {
                    out.push(user_id.clone());
                }
            }
            Action::Notification(a) => out.extend(a.users.iter().cloned()),
        }
    }
}

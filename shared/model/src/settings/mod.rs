//! The settings actions reference (templates, senders, providers, allocation rules, external
//! task connections) and the tenant's own settings. Credentials are never stored here: they live
//! in the secret vault under a name derived from the tenant and the setting (see `secrets`).

pub mod outbound;
pub mod secrets;
pub mod service;
pub mod store;
pub mod web_form;

use serde::{Deserialize, Serialize};

use crate::action::{SettingInfo, SettingKind};
use crate::condition::{CompiledCondition, Condition, ConditionScope};
use crate::ids::UserId;
use crate::record::is_plausible_email;
use crate::schema::{CustomField, Module, Schema};
use crate::template::{EmailTemplate, PrintTemplate, SmsTemplate, ZnsTemplate};
use crate::trigger::{DEFAULT_TIME_ZONE, Feb29Policy};
use crate::validation::Problems;
use outbound::OutboundPolicy;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSender {
    pub name: String,
    /// An address of a verified SES identity.
    pub from_address: String,
    #[serde(default)]
    pub from_name: String,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl EmailSender {
    /// The From header: `"Name" <address>`, or the address alone.
    pub fn from_header(&self) -> String {
        if self.from_name.is_empty() {
            self.from_address.clone()
        } else {
            format!("\"{}\" <{}>", self.from_name, self.from_address)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SmsGateway {
    /// Amazon SNS direct SMS.
    Sns { sender_id: String },
    /// A Vietnamese brandname gateway with an eSMS-style JSON API.
    Brandname { base_url: String, brandname: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsProvider {
    pub name: String,
    pub gateway: SmsGateway,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZnsProvider {
    pub name: String,
    /// Zalo Official Account id.
    pub oa_id: String,
    pub base_url: String,
}

/// Who gets a record: users (or a team's members) taking turns by a strategy, for records
/// matching a condition; applied to new records when `on_create`, and named by hand-over
/// actions ([`crate::allocation`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationRule {
    pub name: String,
    pub module: Module,
    /// The users who take turns, in order; with `team`, added to its members.
    #[serde(default)]
    pub users: Vec<UserId>,
    /// A team whose members (as they are when a record comes) take turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default)]
    pub condition: Condition,
    #[serde(default)]
    pub strategy: crate::allocation::Strategy,
    /// Inactive users get no turn (on by default).
    #[serde(default = "yes")]
    pub skip_inactive: bool,
    /// A user with this many open records of the module gets no turn until some close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u32>,
    /// Applied to the module's new records (created, imported, from a web form).
    #[serde(default)]
    pub on_create: bool,
    /// Rules applied to new records are tried lowest first (then by id).
    #[serde(default)]
    pub priority: u32,
    /// Also for records created with an owner (otherwise left as they come).
    #[serde(default)]
    pub override_owner: bool,
}

fn yes() -> bool {
    true
}

impl AllocationRule {
    /// A round robin over `users` for every record of `module`, used by hand-over actions
    /// only: what a rule is before anything else is set.
    pub fn round_robin(name: &str, module: Module, users: Vec<UserId>) -> Self {
        Self {
            name: name.to_owned(),
            module,
            users,
            team: None,
            condition: Condition::default(),
            strategy: Default::default(),
            skip_inactive: true,
            max_open: None,
            on_create: false,
            priority: 0,
            override_owner: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConnection {
    pub name: String,
    /// Where created tasks are POSTed.
    pub url: String,
}

/// A VOIP switchboard (tổng đài): the calls users place from the CRM go through it, and its
/// call events come back on a webhook signed with the setting's secret key. Its credentials
/// are gateway keys: the API key it is called with, the secret key its events are signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoipProvider {
    pub name: String,
    /// The switchboard's API: a call is asked for with `POST {base_url}/calls`.
    pub base_url: String,
    /// Each user's extension on the switchboard: the phone that rings first when they call
    /// from the CRM, and whose calls are theirs.
    #[serde(default)]
    pub extensions: std::collections::BTreeMap<UserId, String>,
}

impl VoipProvider {
    /// The user an extension belongs to.
    pub fn user_of(&self, extension: &str) -> Option<&UserId> {
        self.extensions
            .iter()
            .find(|(_, e)| e.as_str() == extension)
            .map(|(user, _)| user)
    }
}

/// Longest extension, in digits.
pub const MAX_EXTENSION_DIGITS: usize = 10;
/// Most extensions one switchboard maps.
pub const MAX_EXTENSIONS: usize = 1_000;

/// One setting, of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Setting {
    EmailTemplate(EmailTemplate),
    SmsTemplate(SmsTemplate),
    ZnsTemplate(ZnsTemplate),
    PrintTemplate(PrintTemplate),
    EmailSender(EmailSender),
    SmsProvider(SmsProvider),
    ZnsProvider(ZnsProvider),
    AllocationRule(AllocationRule),
    TaskConnection(TaskConnection),
    LibraryAction(LibraryAction),
    WebForm(web_form::WebForm),
    VoipProvider(VoipProvider),
    Mailbox(crate::mailbox::Mailbox),
}

/// An action saved in a module's library ("add the action, save, tick it, Attach"): workflows
/// of the module attach it by id, each keeping a copy in the version it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryAction {
    pub name: String,
    pub module: crate::schema::Module,
    /// The action, as any inline one is written; its `id` is replaced by the id it is attached
    /// under. Boxed: an action is several times the size of any other setting.
    pub action: Box<crate::action::Action>,
}

impl SettingKind {
    pub const ALL: [SettingKind; 13] = [
        SettingKind::EmailTemplate,
        SettingKind::SmsTemplate,
        SettingKind::ZnsTemplate,
        SettingKind::PrintTemplate,
        SettingKind::EmailSender,
        SettingKind::SmsProvider,
        SettingKind::ZnsProvider,
        SettingKind::AllocationRule,
        SettingKind::TaskConnection,
        SettingKind::LibraryAction,
        SettingKind::WebForm,
        SettingKind::VoipProvider,
        SettingKind::Mailbox,
    ];

    /// The URL segment and key segment of the kind (`email-templates`).
    pub fn slug(self) -> &'static str {
        match self {
            SettingKind::EmailTemplate => "email-templates",
            SettingKind::SmsTemplate => "sms-templates",
            SettingKind::ZnsTemplate => "zns-templates",
            SettingKind::PrintTemplate => "print-templates",
            SettingKind::EmailSender => "email-senders",
            SettingKind::SmsProvider => "sms-providers",
            SettingKind::ZnsProvider => "zns-providers",
            SettingKind::AllocationRule => "allocation-rules",
            SettingKind::TaskConnection => "task-connections",
            SettingKind::LibraryAction => "actions",
            SettingKind::WebForm => "web-forms",
            SettingKind::VoipProvider => "voip-providers",
            SettingKind::Mailbox => "mailboxes",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == slug)
    }
}

fn check_url(outbound: OutboundPolicy, url: &str, path: &str, problems: &mut Problems) {
    if let Err(reason) = outbound.check_url(url) {
        problems.push(path, reason);
    }
}

fn check_required(text: &str, path: &str, problems: &mut Problems) {
    if text.trim().is_empty() {
        problems.push(path, "is required");
    }
}

impl Setting {
    pub fn kind(&self) -> SettingKind {
        match self {
            Setting::EmailTemplate(_) => SettingKind::EmailTemplate,
            Setting::SmsTemplate(_) => SettingKind::SmsTemplate,
            Setting::ZnsTemplate(_) => SettingKind::ZnsTemplate,
            Setting::PrintTemplate(_) => SettingKind::PrintTemplate,
            Setting::EmailSender(_) => SettingKind::EmailSender,
            Setting::SmsProvider(_) => SettingKind::SmsProvider,
            Setting::ZnsProvider(_) => SettingKind::ZnsProvider,
            Setting::AllocationRule(_) => SettingKind::AllocationRule,
            Setting::TaskConnection(_) => SettingKind::TaskConnection,
            Setting::LibraryAction(_) => SettingKind::LibraryAction,
            Setting::WebForm(_) => SettingKind::WebForm,
            Setting::VoipProvider(_) => SettingKind::VoipProvider,
            Setting::Mailbox(_) => SettingKind::Mailbox,
        }
    }

    /// What workflow validation needs to know of it.
    pub fn info(&self) -> SettingInfo {
        match self {
            Setting::EmailTemplate(t) => SettingInfo {
                module: Some(t.module),
                parameters: vec![],
            },
            Setting::SmsTemplate(t) => SettingInfo {
                module: Some(t.module),
                parameters: vec![],
            },
            Setting::PrintTemplate(t) => SettingInfo {
                module: Some(t.module),
                parameters: vec![],
            },
            Setting::AllocationRule(r) => SettingInfo {
                module: Some(r.module),
                parameters: vec![],
            },
            Setting::LibraryAction(a) => SettingInfo {
                module: Some(a.module),
                parameters: vec![],
            },
            Setting::ZnsTemplate(t) => SettingInfo {
                module: None,
                parameters: t.parameters.clone(),
            },
            _ => SettingInfo::default(),
        }
    }

    /// The provider URL the setting sends to, with its JSON pointer.
    pub fn outbound_url(&self) -> Option<(&str, &'static str)> {
        match self {
            Setting::SmsProvider(SmsProvider {
                gateway: SmsGateway::Brandname { base_url, .. },
                ..
            }) => Some((base_url, "/gateway/base_url")),
            Setting::ZnsProvider(p) => Some((&p.base_url, "/base_url")),
            Setting::TaskConnection(c) => Some((&c.url, "/url")),
            Setting::VoipProvider(p) => Some((&p.base_url, "/base_url")),
            _ => None,
        }
    }

    /// Every problem of the setting; `user_exists` checks the users an allocation rule names,
    /// `outbound` the provider URLs the deployment allows (as written; resolution is checked by
    /// the use case).
    pub fn validate(
        &self,
        schema: &Schema,
        user_exists: &dyn Fn(&UserId) -> bool,
        outbound: OutboundPolicy,
    ) -> Problems {
        let mut problems = Problems::default();
        match self {
            Setting::EmailTemplate(t) => problems = t.validate(schema),
            Setting::SmsTemplate(t) => problems = t.validate(schema),
            Setting::ZnsTemplate(t) => problems = t.validate(),
            Setting::PrintTemplate(t) => problems = t.validate(schema),
            Setting::EmailSender(s) => {
                check_required(&s.name, "/name", &mut problems);
                if !is_plausible_email(&s.from_address) {
                    problems.push("/from_address", "not an email address");
                }
                if s.reply_to
                    .as_deref()
                    .is_some_and(|r| !is_plausible_email(r))
                {
                    problems.push("/reply_to", "not an email address");
                }
                if s.from_name.contains(['\r', '\n', '"', '<', '>']) {
                    problems.push(
                        "/from_name",
                        "may not contain line breaks, quotes or angle brackets",
                    );
                }
            }
            Setting::SmsProvider(p) => {
                check_required(&p.name, "/name", &mut problems);
                match &p.gateway {
                    SmsGateway::Sns { sender_id } => {
                        if sender_id.len() > 11
                            || !sender_id.chars().all(|c| c.is_ascii_alphanumeric())
                        {
                            problems.push("/gateway/sender_id", "1 to 11 letters or digits");
                        }
                    }
                    SmsGateway::Brandname {
                        base_url,
                        brandname,
                    } => {
                        check_url(outbound, base_url, "/gateway/base_url", &mut problems);
                        check_required(brandname, "/gateway/brandname", &mut problems);
                    }
                }
            }
            Setting::ZnsProvider(p) => {
                check_required(&p.name, "/name", &mut problems);
                check_required(&p.oa_id, "/oa_id", &mut problems);
                check_url(outbound, &p.base_url, "/base_url", &mut problems);
            }
            Setting::AllocationRule(r) => {
                check_required(&r.name, "/name", &mut problems);
                problems.extend(crate::allocation::service::check_rule(r));
                for (i, user) in r.users.iter().enumerate() {
                    if r.users[..i].contains(user) {
                        problems.push(format!("/users/{i}"), format!("'{user}' is listed twice"));
                    } else if !user_exists(user) {
                        problems.push(format!("/users/{i}"), format!("no user '{user}'"));
                    }
                }
                if let crate::allocation::Strategy::Weighted { weights } = &r.strategy {
                    for (i, w) in weights.iter().enumerate() {
                        if !user_exists(&w.user) {
                            problems.push(
                                format!("/strategy/weights/{i}/user"),
                                format!("no user '{}'", w.user),
                            );
                        }
                    }
                }
                if let Err(p) = CompiledCondition::compile(
                    &r.condition,
                    schema.module(r.module),
                    ConditionScope::RecordState,
                    "/condition",
                ) {
                    problems.extend(p);
                }
            }
            Setting::TaskConnection(c) => {
                check_required(&c.name, "/name", &mut problems);
                check_url(outbound, &c.url, "/url", &mut problems);
            }
            // The action itself is checked by the settings use case, which loads what it names.
            Setting::LibraryAction(a) => {
                if a.name.trim().is_empty() || a.name.chars().count() > 255 {
                    problems.push("/name", "is required, at most 255 characters");
                }
            }
            Setting::WebForm(f) => problems = f.validate(schema, user_exists),
            Setting::VoipProvider(p) => {
                check_required(&p.name, "/name", &mut problems);
                check_url(outbound, &p.base_url, "/base_url", &mut problems);
                if p.extensions.len() > MAX_EXTENSIONS {
                    problems.push(
                        "/extensions",
                        format!("at most {MAX_EXTENSIONS} extensions"),
                    );
                }
                let mut seen = std::collections::BTreeSet::new();
                for (user, extension) in &p.extensions {
                    let path = format!("/extensions/{user}");
                    if !user_exists(user) {
                        problems.push(path, format!("no user '{user}'"));
                    } else if extension.is_empty()
                        || extension.len() > MAX_EXTENSION_DIGITS
                        || !extension.bytes().all(|b| b.is_ascii_digit())
                    {
                        problems.push(path, format!("1 to {MAX_EXTENSION_DIGITS} digits"));
                    } else if !seen.insert(extension.as_str()) {
                        problems.push(path, format!("extension {extension} is another user's"));
                    }
                }
            }
            Setting::Mailbox(m) => problems = m.validate(user_exists, outbound),
        }
        problems
    }
}

/// A tenant's own settings: time zone, Feb 29 default, custom fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default)]
    pub feb29_default: Feb29Policy,
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    /// Loyalty points and ranks from orders; none means the tenant does not run a programme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty: Option<crate::record::loyalty::LoyaltyRule>,
    /// The countries SMS and Zalo ZNS messages may go to, as ISO 3166-1 region codes (`VN`);
    /// Vietnam only by default. A recipient of another country is skipped, recorded in the run
    /// and never sent to; an empty list sends no SMS or ZNS at all.
    #[serde(default = "default_message_countries")]
    pub message_countries: Vec<String>,
    /// What each role may do to which records (the defaults: administrators everything,
    /// salespeople their own records).
    #[serde(default)]
    pub access: crate::user::access::AccessPolicies,
    /// Who gets a module's new record when no allocation rule takes it (and it came without an
    /// owner): by module.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub default_owners: std::collections::BTreeMap<Module, UserId>,
    /// Each team's manager, by team name: the manager of a team's users who name none of
    /// their own (approval steps, escalations).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub team_managers: std::collections::BTreeMap<String, UserId>,
    /// What makes two customers duplicates: the identity kinds that count (phone, email and tax
    /// code until the tenant chooses).
    #[serde(default = "default_duplicate_keys")]
    pub duplicate_keys: Vec<crate::record::identity::IdentityKind>,
}

fn default_duplicate_keys() -> Vec<crate::record::identity::IdentityKind> {
    crate::record::identity::DEFAULT_RULE.to_vec()
}

fn default_time_zone() -> String {
    DEFAULT_TIME_ZONE.name().to_owned()
}

/// How many countries a tenant may send SMS and ZNS to.
pub const MAX_MESSAGE_COUNTRIES: usize = 50;

fn default_message_countries() -> Vec<String> {
    vec![crate::phone::DEFAULT_REGION.to_owned()]
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            time_zone: default_time_zone(),
            feb29_default: Feb29Policy::default(),
            custom_fields: Vec::new(),
            loyalty: None,
            message_countries: default_message_countries(),
            access: Default::default(),
            default_owners: Default::default(),
            team_managers: Default::default(),
            duplicate_keys: default_duplicate_keys(),
        }
    }
}

impl TenantSettings {
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(DEFAULT_TIME_ZONE)
    }

    /// The tenant's schema; settings are validated before they are stored, so a failure here
    /// means stored data went bad and the built-in schema is the safe fallback.
    pub fn schema(&self) -> Schema {
        Schema::with_custom_fields(&self.custom_fields).unwrap_or_else(|_| Schema::builtin())
    }

    pub fn validate(&self) -> Problems {
        let mut problems = Problems::default();
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            problems.push(
                "/time_zone",
                format!("'{}' is not an IANA time zone", self.time_zone),
            );
        }
        if let Err(p) = Schema::with_custom_fields(&self.custom_fields) {
            problems.extend(p);
        }
        for (i, field) in self.custom_fields.iter().enumerate() {
            check_options(
                field.kind.options(),
                &format!("/custom_fields/{i}/kind/options"),
                &mut problems,
            );
        }
        if let Some(rule) = &self.loyalty {
            let schema = Schema::builtin();
            let ranks: Vec<&str> = schema
                .module(Module::Customer)
                .field("Rank")
                .map(|f| f.kind.options().iter().map(|o| o.value.as_str()).collect())
                .unwrap_or_default();
            problems.extend(rule.validate(&ranks).under("/loyalty"));
        }
        if self.duplicate_keys.is_empty() {
            problems.push(
                "/duplicate_keys",
                "at least one: what makes two customers duplicates",
            );
        }
        for (i, kind) in self.duplicate_keys.iter().enumerate() {
            if self.duplicate_keys[..i].contains(kind) {
                problems.push(format!("/duplicate_keys/{i}"), "listed twice");
            }
        }
        if self.message_countries.len() > MAX_MESSAGE_COUNTRIES {
            problems.push(
                "/message_countries",
                format!("at most {MAX_MESSAGE_COUNTRIES} countries"),
            );
        }
        for (i, code) in self.message_countries.iter().enumerate() {
            if self.message_countries[..i].contains(code) {
                problems.push(
                    format!("/message_countries/{i}"),
                    format!("'{code}' is listed twice"),
                );
            } else if !crate::phone::is_known_region(code) {
                problems.push(
                    format!("/message_countries/{i}"),
                    format!("'{code}' is not a region code (ISO 3166-1, in capitals: VN, SG, US)"),
                );
            }
        }
        problems.extend(self.access.validate());
        problems
    }
}

/// A pick-list's options on save: each with a value and both labels, no value listed twice.
/// Only on save: settings stored before this check keep their schema when read.
fn check_options(options: &[crate::schema::PickOption], at: &str, problems: &mut Problems) {
    let mut seen = std::collections::HashSet::new();
    for (j, option) in options.iter().enumerate() {
        if option.value.trim().is_empty() {
            problems.push(format!("{at}/{j}/value"), "is required");
        } else if !seen.insert(option.value.as_str()) {
            problems.push(
                format!("{at}/{j}/value"),
                format!("'{}' is listed twice", option.value),
            );
        }
        if option.label_vi.trim().is_empty() {
            problems.push(format!("{at}/{j}/label_vi"), "is required");
        }
        if option.label_en.trim().is_empty() {
            problems.push(format!("{at}/{j}/label_en"), "is required");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_parse_by_kind_and_validate() {
        let setting: Setting = serde_json::from_value(json!({
            "kind": "sms_provider", "name": "eSMS",
            "gateway": {"type": "brandname", "base_url": "ftp://x", "brandname": ""}
        }))
        .unwrap();
        let problems = setting.validate(&Schema::builtin(), &|_| true, OutboundPolicy::PUBLIC);
        assert!(
            problems.has("/gateway/base_url") && problems.has("/gateway/brandname"),
            "{problems}"
        );
        assert_eq!(
            SettingKind::from_slug("sms-providers"),
            Some(setting.kind())
        );
    }

    #[test]
    fn allocation_rules_name_unknown_and_repeated_users() {
        let rule = Setting::AllocationRule(AllocationRule::round_robin(
            "Vòng tròn",
            Module::Customer,
            vec![
                UserId::new("u1").unwrap(),
                UserId::new("u2").unwrap(),
                UserId::new("u1").unwrap(),
            ],
        ));
        let problems = rule.validate(
            &Schema::builtin(),
            &|u| u.as_str() == "u1",
            OutboundPolicy::PUBLIC,
        );
        assert!(
            problems.has("/users/1") && problems.has("/users/2"),
            "{problems}"
        );
    }

    #[test]
    fn tenant_settings_default_to_ho_chi_minh_city() {
        let settings: TenantSettings = serde_json::from_value(json!({})).unwrap();
        assert_eq!(settings.tz(), chrono_tz::Asia::Ho_Chi_Minh);
        let bad = TenantSettings {
            time_zone: "Saigon".into(),
            ..TenantSettings::default()
        };
        assert!(bad.validate().has("/time_zone"));
    }

    #[test]
    fn a_custom_pick_list_is_saved_only_with_values_and_labels_each_listed_once() {
        let settings: TenantSettings = serde_json::from_value(json!({"custom_fields": [{
            "module": "Customer", "name": "Segment", "label_vi": "Phân khúc", "label_en": "Segment",
            "kind": {"type": "pick_list", "options": [
                {"value": "vip", "label_vi": "VIP", "label_en": "VIP"},
                {"value": " ", "label_vi": "Trống", "label_en": "Blank"},
                {"value": "vip", "label_vi": "", "label_en": "Again"}]}}]}))
        .unwrap();
        let problems = settings.validate();
        let at = "/custom_fields/0/kind/options";
        for path in ["/1/value", "/2/value", "/2/label_vi"] {
            assert!(problems.has(&format!("{at}{path}")), "{path}: {problems}");
        }
        assert!(!problems.has(&format!("{at}/0/value")), "{problems}");
        // Read back as stored, the field keeps its place in the schema.
        assert!(
            settings
                .schema()
                .module(Module::Customer)
                .field("Segment")
                .is_some()
        );
    }

    #[test]
    fn message_countries_default_to_vietnam_and_are_known_regions_listed_once() {
        let settings: TenantSettings = serde_json::from_value(json!({})).unwrap();
        assert_eq!(settings.message_countries, ["VN"]);
        assert_eq!(TenantSettings::default().message_countries, ["VN"]);
        let allowed = TenantSettings {
            message_countries: vec!["VN".into(), "SG".into(), "US".into()],
            ..TenantSettings::default()
        };
        assert!(allowed.validate().is_empty(), "{}", allowed.validate());
        let none = TenantSettings {
            message_countries: Vec::new(),
            ..TenantSettings::default()
        };
        assert!(none.validate().is_empty(), "an empty list sends nothing");
        let bad = TenantSettings {
            message_countries: ["VN", "vn", "UK", "VN", "XX"].map(String::from).to_vec(),
            ..TenantSettings::default()
        };
        let problems = bad.validate();
        for path in [
            "/message_countries/1",
            "/message_countries/2",
            "/message_countries/3",
            "/message_countries/4",
        ] {
            assert!(problems.has(path), "no problem at {path}: {problems}");
        }
        assert!(!problems.has("/message_countries/0"), "{problems}");
        let too_many = TenantSettings {
            message_countries: phonenumber::metadata::DATABASE
                .iter()
                .map(|region| region.id().to_owned())
                .filter(|id| crate::phone::is_known_region(id))
                .take(MAX_MESSAGE_COUNTRIES + 1)
                .collect(),
            ..TenantSettings::default()
        };
        assert!(too_many.validate().has("/message_countries"));
    }
}

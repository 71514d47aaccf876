use super::*;
use crate::action::{MemoryCatalog, SettingInfo, SettingKind};
use serde_json::json;

fn catalog() -> MemoryCatalog {
    let customer = SettingInfo {
        module: Some(Module::Customer),
        parameters: vec![],
    };
    MemoryCatalog::default()
        .with_user("u-owner")
        .with_user("u-manager")
        .with_setting(SettingKind::SmsProvider, "sms-main", SettingInfo::default())
        .with_setting(SettingKind::SmsTemplate, "sms-birthday", customer.clone())
        .with_setting(SettingKind::EmailSender, "mailer", SettingInfo::default())
        .with_setting(
            SettingKind::EmailTemplate,
            "email-birthday",
            customer.clone(),
        )
        .with_setting(SettingKind::PrintTemplate, "print-voucher", customer)
        .with_setting(SettingKind::ZnsProvider, "zalo-oa", SettingInfo::default())
        .with_setting(
            SettingKind::ZnsTemplate,
            "zns-birthday",
            SettingInfo {
                module: None,
                parameters: vec!["customer_name".into(), "voucher".into()],
            },
        )
}

fn birthday_workflow() -> serde_json::Value {
    json!({
        "module": "Customer",
        "name": "Chúc mừng sinh nhật khách hàng",
        "description": "SMS and a call task on each customer's birthday at 8:00",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Phone", "op": "is_not_empty"}
        ]}},
        "actions": [
            {"kind": "sms", "id": "a1", "name": "SMS chúc mừng", "provider": "sms-main",
             "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "task", "id": "a2", "name": "Gọi điện chúc mừng", "title": "Gọi chúc mừng #Name",
             "description": "Sinh nhật #{Ngày sinh}", "due": {"days_after": 0, "time_of_day": "17:00:00"},
             "task_type": "Call", "priority": "High", "assignee": {"type": "record_owner"},
             "related_users": ["u-manager"]},
            {"kind": "email", "id": "a3", "name": "Email", "sender": "mailer",
             "recipient_fields": [{"field": "Email"}], "users": ["u-owner"], "extra_addresses": ["cskh@example.vn"],
             "template": "email-birthday", "attachment": {"print_template": "print-voucher", "format": "pdf"}},
            {"kind": "zns", "id": "a4", "name": "ZNS", "provider": "zalo-oa", "recipient_field": {"field": "Phone"},
             "template": "zns-birthday", "parameters": {"customer_name": "#Name", "voucher": "HPBD-#Code"}},
            {"kind": "update_fields", "id": "a5", "name": "Ghi nhận", "values": [
                {"field": "Description", "value": {"type": "merge", "text": "Đã chúc mừng #Name"}},
                {"field": "Rank", "value": {"type": "literal", "value": "Silver"}}
            ]},
            {"kind": "handover", "id": "a6", "name": "Bàn giao", "to": {"type": "user", "user_id": "u-manager"},
             "move_open_activities": ["task"]},
            {"kind": "notification", "id": "a7", "name": "Báo", "notify_owner": true, "message": "Hôm nay sinh nhật #Name"}
        ]
    })
}

fn definition(value: serde_json::Value) -> WorkflowDefinition {
    serde_json::from_value(value).unwrap()
}

fn stamp(user: &str, secs: i64) -> Stamp {
    Stamp {
        by: UserId::new(user).unwrap(),
        at: DateTime::from_timestamp(secs, 0).unwrap(),
    }
}

#[test]
fn a_complete_birthday_care_workflow_is_valid() {
    let def = definition(birthday_workflow());
    assert_eq!(def.kind(), WorkflowKind::Care);
    def.validate(&Schema::builtin(), &catalog()).unwrap();
}

#[test]
fn definitions_round_trip_through_json() {
    let def = definition(birthday_workflow());
    let again: WorkflowDefinition =
        serde_json::from_value(serde_json::to_value(&def).unwrap()).unwrap();
    assert_eq!(again, def);
}

#[test]
fn every_problem_is_reported_at_once_with_its_path() {
    let mut w = birthday_workflow();
    w["name"] = json!(" ");
    w["trigger"]["date_field"] = json!("Phone");
    w["condition"]["group"]["rules"][0] = json!({"field": "Rank", "op": "changed"});
    w["actions"][0]["template"] = json!("missing-template");
    w["actions"][0]["recipient_fields"] = json!([{"field": "Email"}]);
    w["actions"][1]["title"] = json!("Gọi #Nmae");
    w["actions"][1]["task_type"] = json!("Dance");
    w["actions"][2]["extra_addresses"] = json!(["not-an-address"]);
    w["actions"][2]["cc"] = json!(["lead@example.vn", "lead-at-example"]);
    w["actions"][2]["bcc"] = json!(vec!["a@example.vn"; 21]);
    w["actions"][3]["parameters"] = json!({"customer_name": "#Name", "bogus": "x"});
    w["actions"][4]["values"][1] =
        json!({"field": "LoyaltyPoints", "value": {"type": "literal", "value": 5}});
    w["actions"][5]["to"] = json!({"type": "user", "user_id": "u-ghost"});
    w["actions"][6]["id"] = json!("a1");
    let problems = definition(w)
        .validate(&Schema::builtin(), &catalog())
        .unwrap_err();
    let expected = [
        "/name",
        "/trigger/date_field",
        "/condition/group/rules/0/op",
        "/actions/0/template",
        "/actions/0/recipient_fields/0/field",
        "/actions/1/title",
        "/actions/1/task_type",
        "/actions/2/extra_addresses/0",
        "/actions/2/cc/1",
        "/actions/2/bcc",
        "/actions/3/parameters",
        "/actions/3/parameters/bogus",
        "/actions/4/values/1/field",
        "/actions/5/to/user_id",
        "/actions/6/id",
    ];
    for path in expected {
        assert!(problems.has(path), "no problem at {path}: {problems}");
    }
    assert_eq!(problems.len(), expected.len(), "{problems}");
}

#[test]
fn care_cards_belong_to_order_workflows_only() {
    let card = json!({"kind": "care_card", "id": "c1", "name": "Thẻ", "based_on": {"type": "products"},
                      "owner": {"type": "order_salesperson"}, "notify_owner": true, "layout": "Mặc định",
                      "care_date": {"days_after": 7},
                      "fields": [{"field": "Title", "value": {"type": "merge", "text": "Chăm sóc đơn #Code"}}]});
    let mut w = birthday_workflow();
    w["actions"] = json!([card.clone()]);
    let problems = definition(w.clone())
        .validate(&Schema::builtin(), &catalog())
        .unwrap_err();
    assert!(problems.has("/actions/0/kind"), "{problems}");

    w["module"] = json!("Order");
    w["trigger"]["date_field"] = json!("DeliveryDate");
    w["trigger"]["recurrence"] = json!("once");
    w["condition"] = json!({"type": "all_records"});
    definition(w.clone())
        .validate(&Schema::builtin(), &catalog())
        .unwrap();

    w["actions"][0]["care_date"] = json!({"from_field": "Code", "days_after": -4000});
    let problems = definition(w.clone())
        .validate(&Schema::builtin(), &catalog())
        .unwrap_err();
    assert!(
        problems.has("/actions/0/care_date/from_field"),
        "{problems}"
    );
    assert!(
        problems.has("/actions/0/care_date/days_after"),
        "{problems}"
    );
    w["actions"][0]["care_date"] = json!({"from_field": "DeliveryDate", "days_after": -3});
    definition(w)
        .validate(&Schema::builtin(), &catalog())
        .unwrap();
}

#[test]
fn work_workflows_may_use_changed_operators() {
    let w = json!({
        "module": "Customer", "name": "Lên hạng Vàng",
        "trigger": {"type": "record_event", "on": "updated", "watched_fields": ["Rank"]},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Rank", "op": "changed_to", "value": "Gold"}]}},
        "actions": [{"kind": "notification", "id": "n1", "name": "Báo", "users": ["u-owner"],
                     "message": "#Name lên hạng #Rank"}]
    });
    let def = definition(w);
    assert_eq!(def.kind(), WorkflowKind::Work);
    def.validate(&Schema::builtin(), &catalog()).unwrap();
}

#[test]
fn unknown_keys_anywhere_are_rejected() {
    let mut w = birthday_workflow();
    w["actions"][1]["colour"] = json!("red");
    assert!(serde_json::from_value::<WorkflowDefinition>(w).is_err());
    let mut w = birthday_workflow();
    w["trigger"]["every"] = json!("day");
    assert!(serde_json::from_value::<WorkflowDefinition>(w).is_err());
}

#[test]
fn editing_a_draft_keeps_its_version_and_editing_after_activation_makes_a_new_one() {
    let def = definition(birthday_workflow());
    let wf = Workflow::new(
        WorkflowId::new("w1").unwrap(),
        TenantId::new("t1").unwrap(),
        def.clone(),
        stamp("u-owner", 1_800_000_000),
    );
    let (draft, new_version) = wf
        .edit(def.clone(), stamp("u-owner", 1_800_000_100))
        .unwrap();
    assert!(!new_version);
    assert_eq!(draft.version, 1);
    let active = draft.activate(stamp("u-owner", 1_800_000_200)).unwrap();
    let (edited, new_version) = active
        .edit(def.clone(), stamp("u-manager", 1_800_000_300))
        .unwrap();
    assert!(new_version);
    assert_eq!((edited.version, edited.status), (2, WorkflowStatus::Active));
    let inactive = edited
        .deactivate(stamp("u-owner", 1_800_000_400), QueuedJobs::Cancel)
        .unwrap();
    let (again, new_version) = inactive.edit(def, stamp("u-owner", 1_800_000_500)).unwrap();
    assert!(new_version, "runs may still be pinned to version 2");
    assert_eq!(again.version, 3);
}

#[test]
fn activation_and_deactivation_move_the_active_care_count() {
    use crate::workflow::ActiveChange;
    let wf = Workflow::new(
        WorkflowId::new("w1").unwrap(),
        TenantId::new("t1").unwrap(),
        definition(birthday_workflow()),
        stamp("u-owner", 1_800_000_000),
    );
    let active = wf.activate(stamp("u-owner", 1)).unwrap();
    assert_eq!(
        wf.active_change(&active),
        ActiveChange::Activate {
            kind: crate::workflow::WorkflowKind::Care,
            module: Module::Customer,
            limit: MAX_ACTIVE_CARE_WORKFLOWS_PER_MODULE
        }
    );
    assert_eq!(
        active.activate(stamp("u-owner", 2)),
        Err(TransitionError::AlreadyInStatus(WorkflowStatus::Active))
    );
    let (edited, _) = active
        .edit(definition(birthday_workflow()), stamp("u-owner", 3))
        .unwrap();
    assert_eq!(active.active_change(&edited), ActiveChange::None);
    let off = edited
        .deactivate(stamp("u-owner", 4), QueuedJobs::Cancel)
        .unwrap();
    assert_eq!(
        edited.active_change(&off),
        ActiveChange::Deactivate {
            kind: crate::workflow::WorkflowKind::Care,
            module: Module::Customer
        }
    );
}

#[test]
fn module_and_kind_are_fixed_for_a_workflow() {
    let wf = Workflow::new(
        WorkflowId::new("w1").unwrap(),
        TenantId::new("t1").unwrap(),
        definition(birthday_workflow()),
        stamp("u-owner", 1_800_000_000),
    );
    let mut other = birthday_workflow();
    other["module"] = json!("Lead");
    assert_eq!(
        wf.edit(definition(other), stamp("u", 1)).unwrap_err(),
        TransitionError::ModuleChanged
    );
}

fn ranking(trigger: serde_json::Value) -> WorkflowDefinition {
    serde_json::from_value(json!({
        "module": "Customer", "name": "Xếp hạng",
        "trigger": trigger,
        "actions": [{"kind": "update_fields", "id": "rank", "name": "Hạng", "values": [
            {"field": "Rank", "value": {"type": "literal", "value": "Gold"}}]}]
    }))
    .unwrap()
}

#[test]
fn a_work_workflow_that_would_set_itself_off_with_its_own_write_is_refused_naming_the_watched_fields()
 {
    for trigger in [
        json!({"type": "record_event", "on": "updated", "repeat_on_every_edit": true}),
        json!({"type": "record_event", "on": "created_or_updated", "repeat_on_every_edit": true}),
        json!({"type": "record_event", "on": "updated", "watched_fields": ["Rank"], "repeat_on_every_edit": true}),
        json!({"type": "record_event", "on": "updated", "watched_fields": ["Rank", "Phone"], "repeat_on_every_edit": true}),
    ] {
        let problems = ranking(trigger.clone())
            .validate(&Schema::builtin(), &catalog())
            .unwrap_err();
        let text = serde_json::to_value(&problems).unwrap();
        assert_eq!(
            text[0]["path"], "/trigger/watched_fields",
            "{trigger}: {text}"
        );
        assert!(
            text[0]["message"].as_str().unwrap().contains("Rank"),
            "{text}"
        );
    }
}

#[test]
fn a_work_workflow_watching_fields_its_actions_do_not_write_or_running_once_is_accepted() {
    for trigger in [
        json!({"type": "record_event", "on": "updated", "watched_fields": ["Phone"], "repeat_on_every_edit": true}),
        json!({"type": "record_event", "on": "updated", "watched_fields": ["Rank", "Phone"], "watch": "all", "repeat_on_every_edit": true}),
        json!({"type": "record_event", "on": "updated"}),
        json!({"type": "record_event", "on": "created"}),
    ] {
        let result = ranking(trigger.clone()).validate(&Schema::builtin(), &catalog());
        assert!(result.is_ok(), "{trigger}: {result:?}");
    }
}

//! Allocation rules over the in-memory stores: new records go to the first rule (by priority)
//! whose condition holds, by round robin over users or a team, weighted round robin or fewest
//! open records, never to inactive users or those at their cap; a record created with an owner
//! keeps it unless a rule overrides; a default owner takes the rest; concurrent creations each
//! take a turn; an import creates each row once with its result; a dry run writes nothing.

mod support;

use crm_model::ids::{SettingId, UserId};
use crm_model::ports::{RunLedger, SettingsStore, UserDirectory};
use crm_model::record::service::{ImportRow, RowOutcome};
use crm_model::schema::Module;
use crm_model::user::Role;
use serde_json::{Value, json};
use support::crm::{Crm, fields, rid, user};

async fn crm_with_sales_team() -> Crm {
    let crm = Crm::new().await;
    for (id, team, active) in [
        ("u-an", "Hà Nội", true),
        ("u-binh", "Hà Nội", true),
        ("u-chi", "Hà Nội", false),
        ("u-dung", "Sài Gòn", true),
    ] {
        let mut member = user(id, id, Role::Salesperson, Some(team));
        member.active = active;
        crm.w
            .stores
            .users
            .put(&crm.w.tenant, &member)
            .await
            .unwrap();
    }
    crm
}

async fn rule(crm: &Crm, id: &str, rule: Value) {
    let setting = serde_json::from_value(json!({"kind": "allocation_rule", "name": id,
        "module": "Lead", "on_create": true}))
    .map(|base: Value| {
        let mut merged = base;
        merged
            .as_object_mut()
            .unwrap()
            .extend(rule.as_object().unwrap().clone());
        merged
    })
    .unwrap();
    let setting = serde_json::from_value(setting).unwrap();
    crm.w
        .settings()
        .create(&crm.w.tenant, &SettingId::new(id).unwrap(), &setting)
        .await
        .unwrap_or_else(|e| panic!("rule {id}: {e:?}"));
}

async fn lead(crm: &Crm, id: &str, input: Value) -> String {
    crm.create(Module::Lead, id, input).await;
    crm.field(id, "Owner").await.as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_first_matching_rule_by_priority_deals_its_leads_round_robin() {
    let crm = crm_with_sales_team().await;
    rule(
        &crm,
        "hanoi",
        json!({"priority": 1, "users": ["u-an", "u-binh"],
            "condition": {"type": "formula", "formula": "1 OR 2", "clauses": [
                {"field": "Province", "op": "equals", "value": "Hà Nội"},
                {"field": "Province", "op": "equals", "value": "Hanoi"}]}}),
    )
    .await;
    rule(
        &crm,
        "everyone",
        json!({"priority": 2, "users": ["u-dung"]}),
    )
    .await;
    let mut owners = Vec::new();
    for i in 0..4 {
        owners.push(
            lead(
                &crm,
                &format!("l{i}"),
                json!({"Name": "Khách", "Province": "Hà Nội"}),
            )
            .await,
        );
    }
    assert_eq!(owners, ["u-an", "u-binh", "u-an", "u-binh"]);
    assert_eq!(
        lead(&crm, "l9", json!({"Name": "Khách", "Province": "Huế"})).await,
        "u-dung"
    );
}

#[tokio::test]
async fn a_team_rule_skips_inactive_members_and_a_record_with_an_owner_keeps_it() {
    let crm = crm_with_sales_team().await;
    rule(&crm, "team", json!({"team": "Hà Nội"})).await;
    let owners = [
        lead(&crm, "l1", json!({"Name": "A"})).await,
        lead(&crm, "l2", json!({"Name": "B"})).await,
        lead(&crm, "l3", json!({"Name": "C"})).await,
    ];
    assert_eq!(owners, ["u-an", "u-binh", "u-an"], "u-chi is inactive");
    let kept = lead(&crm, "l4", json!({"Name": "D", "Owner": "u-manager"})).await;
    assert_eq!(kept, "u-manager");
    rule(
        &crm,
        "override",
        json!({"priority": 0, "users": ["u-dung"], "override_owner": true,
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Source", "op": "equals", "value": "Website"}]}}}),
    )
    .await;
    let overridden = lead(
        &crm,
        "l5",
        json!({"Name": "E", "Owner": "u-manager", "Source": "Website"}),
    )
    .await;
    assert_eq!(overridden, "u-dung");
}

#[tokio::test]
async fn weighted_turns_and_fewest_open_spread_the_load() {
    let crm = crm_with_sales_team().await;
    rule(
        &crm,
        "weighted",
        json!({"users": ["u-an", "u-binh"], "strategy": {"type": "weighted",
            "weights": [{"user": "u-an", "weight": 3}]}}),
    )
    .await;
    let mut owners = Vec::new();
    for i in 0..8 {
        owners.push(lead(&crm, &format!("w{i}"), json!({"Name": "K"})).await);
    }
    let an = owners.iter().filter(|o| *o == "u-an").count();
    assert_eq!((an, owners.len() - an), (6, 2), "{owners:?}");

    let crm = crm_with_sales_team().await;
    // u-an already has two open leads and one lost; u-binh one open.
    for (id, owner, status) in [
        ("o1", "u-an", "New"),
        ("o2", "u-an", "Contacted"),
        ("o3", "u-an", "Lost"),
        ("o4", "u-binh", "New"),
    ] {
        crm.create(
            Module::Lead,
            id,
            json!({"Name": "Cũ", "Owner": owner, "Status": status}),
        )
        .await;
    }
    rule(
        &crm,
        "load",
        json!({"users": ["u-an", "u-binh"], "strategy": {"type": "fewest_open"}}),
    )
    .await;
    let owners = [
        lead(&crm, "f1", json!({"Name": "K"})).await,
        lead(&crm, "f2", json!({"Name": "K"})).await,
        lead(&crm, "f3", json!({"Name": "K"})).await,
    ];
    assert_eq!(owners, ["u-binh", "u-an", "u-binh"]);
}

#[tokio::test]
async fn users_at_their_cap_are_passed_over_then_the_default_owner_takes_the_rest() {
    let crm = crm_with_sales_team().await;
    crm.tenant_settings(|s| {
        s.default_owners
            .insert(Module::Lead, UserId::new("u-manager").unwrap());
    })
    .await;
    rule(&crm, "capped", json!({"users": ["u-an"], "max_open": 2})).await;
    let owners = [
        lead(&crm, "c1", json!({"Name": "K"})).await,
        lead(&crm, "c2", json!({"Name": "K"})).await,
        lead(&crm, "c3", json!({"Name": "K"})).await,
    ];
    assert_eq!(owners, ["u-an", "u-an", "u-manager"]);
    crm.records()
        .patch(
            &crm.sales(),
            Module::Lead,
            &rid("c1"),
            &fields(json!({"Status": "Lost"})),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        lead(&crm, "c4", json!({"Name": "K"})).await,
        "u-an",
        "a lead closed frees a slot"
    );
}

#[tokio::test]
async fn concurrent_creations_each_take_their_own_turn() {
    let crm = crm_with_sales_team().await;
    rule(&crm, "rr", json!({"users": ["u-an", "u-binh", "u-dung"]})).await;
    let records = crm.records();
    let actor = crm.sales();
    let creations = (0..30).map(|i| {
        let (records, actor) = (&records, &actor);
        async move {
            records
                .create(
                    actor,
                    Module::Lead,
                    rid(&format!("p{i}")),
                    &fields(json!({"Name": "K"})),
                )
                .await
                .unwrap()
        }
    });
    let created = futures_util::future::join_all(creations).await;
    let mut per_owner = std::collections::BTreeMap::new();
    for record in created {
        let owner = record.value.fields["Owner"].as_str().unwrap().to_owned();
        *per_owner.entry(owner).or_insert(0) += 1;
    }
    assert_eq!(
        per_owner.values().copied().collect::<Vec<_>>(),
        [10, 10, 10],
        "{per_owner:?}"
    );
    let turns = crm
        .w
        .stores
        .runs
        .counter(&crm.w.tenant, "rr")
        .await
        .unwrap();
    assert_eq!(turns, 30);
}

#[tokio::test]
async fn an_import_creates_each_row_once_with_its_result() {
    let crm = crm_with_sales_team().await;
    rule(&crm, "rr", json!({"users": ["u-an", "u-binh"]})).await;
    let rows = |names: &[&str]| -> Vec<ImportRow> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| ImportRow {
                id: rid(&format!("imp-{i}")),
                fields: fields(json!({"Name": name})),
            })
            .collect()
    };
    let first = crm
        .records()
        .import(&crm.sales(), Module::Lead, rows(&["An", "", "Bình"]))
        .await
        .unwrap();
    let statuses: Vec<&str> = first
        .iter()
        .map(|r| match &r.outcome {
            RowOutcome::Created { .. } => "created",
            RowOutcome::Invalid { .. } => "invalid",
            _ => "other",
        })
        .collect();
    assert_eq!(statuses, ["created", "invalid", "created"]);
    let RowOutcome::Invalid { problems } = &first[1].outcome else {
        unreachable!()
    };
    assert_eq!(problems[0].path, "/fields/Name");
    let again = crm
        .records()
        .import(&crm.sales(), Module::Lead, rows(&["An", "Chi", "Bình"]))
        .await
        .unwrap();
    assert_eq!(again[0].outcome, RowOutcome::Exists);
    assert!(matches!(again[1].outcome, RowOutcome::Created { .. }));
    assert_eq!(again[2].outcome, RowOutcome::Exists);
    let turns = crm
        .w
        .stores
        .runs
        .counter(&crm.w.tenant, "rr")
        .await
        .unwrap();
    assert_eq!(turns, 3, "rows already there take no turn");
    let too_many = crm
        .records()
        .import(&crm.sales(), Module::Lead, Vec::new())
        .await;
    assert!(too_many.is_err());
}

#[tokio::test]
async fn a_dry_run_shows_the_owners_the_rules_would_give_and_writes_nothing() {
    let crm = crm_with_sales_team().await;
    for i in 0..3 {
        crm.create(
            Module::Lead,
            &format!("d{i}"),
            json!({"Name": "K", "Province": "Hà Nội"}),
        )
        .await;
    }
    rule(&crm, "rr", json!({"users": ["u-an", "u-binh"]})).await;
    let settings = crm
        .w
        .stores
        .settings
        .tenant_settings(&crm.w.tenant)
        .await
        .unwrap()
        .value;
    let schema = settings.schema();
    let allocator = crm_model::allocation::service::Allocator {
        settings: &crm.w.stores.settings,
        users: &crm.w.stores.users,
        records: &crm.w.stores.records,
        turns: &crm.w.stores.runs,
    };
    let records: Vec<_> = ["d0", "d1", "d2"]
        .iter()
        .map(|id| crm_model::record::Record {
            id: rid(id),
            module: Module::Lead,
            fields: Default::default(),
        })
        .collect();
    let would = allocator
        .dry_run(
            &crm.w.tenant,
            &settings,
            &schema,
            Module::Lead,
            &records,
            crm_model::ports::Clock::now(&crm.clock),
        )
        .await
        .unwrap();
    let owners: Vec<&str> = would
        .iter()
        .map(|w| w.owner.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(owners, ["u-an", "u-binh", "u-an"]);
    let turns = crm
        .w
        .stores
        .runs
        .counter(&crm.w.tenant, "rr")
        .await
        .unwrap();
    assert_eq!(turns, 0, "a dry run takes no turn");
}

//! A template being written, rendered for one record over the in-memory stores: the same names,
//! time zone and escaping as a message sent, merge problems reported per text, and nothing of
//! another tenant or module shown.

mod support;

use crm_model::ids::TenantId;
use crm_model::ports::UserDirectory;
use crm_model::schema::Module;
use crm_model::template::Escape;
use crm_model::template::draft::{Draft, DraftError, Drafts, RenderedDraft};
use crm_model::user::access::Access;
use serde_json::json;
use support::crm::{Crm, rid};

fn drafts(crm: &Crm) -> Drafts<'_> {
    Drafts {
        settings: &crm.w.stores.settings,
        records: &crm.w.stores.records,
        users: &crm.w.stores.users,
    }
}

fn plain(text: &str) -> Draft {
    Draft {
        text: text.into(),
        escape: Escape::Plain,
    }
}

#[tokio::test]
async fn drafts_render_as_sent_with_names_defaults_and_escaping() {
    let crm = Crm::new().await;
    crm.create(
        Module::Customer,
        "c1",
        json!({"Name": "Lan <Hoa>", "Birthday": "1990-03-08", "Owner": "u-sales"}),
    )
    .await;
    let rendered = drafts(&crm)
        .render(
            &crm.w.tenant,
            &Access::everything(),
            Module::Customer,
            &rid("c1"),
            &[
                plain("Chào #Name, sinh nhật #Birthday. Người phụ trách: #Owner (#Owner.Email)"),
                plain("Gửi #{Điện thoại|chưa có số}"),
                Draft {
                    text: "<p>#Name</p>".into(),
                    escape: Escape::Html,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        rendered,
        vec![
            RenderedDraft::Rendered(
                "Chào Lan <Hoa>, sinh nhật 08/03/1990. Người phụ trách: Nguyễn Văn Sáng (u-sales@example.vn)"
                    .into()
            ),
            RenderedDraft::Rendered("Gửi chưa có số".into()),
            RenderedDraft::Rendered("<p>Lan &lt;Hoa&gt;</p>".into()),
        ]
    );
}

#[tokio::test]
async fn a_draft_with_an_unknown_field_is_refused_alone_with_its_problems() {
    let crm = Crm::new().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Lan"}))
        .await;
    let rendered = drafts(&crm)
        .render(
            &crm.w.tenant,
            &Access::everything(),
            Module::Customer,
            &rid("c1"),
            &[plain("#Nmae và #{Không có"), plain("#Name")],
        )
        .await
        .unwrap();
    let RenderedDraft::Refused(problems) = &rendered[0] else {
        panic!("expected problems, got {rendered:?}");
    };
    let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].contains("'Nmae'"), "{said:?}");
    assert!(said[1].contains("never closed"), "{said:?}");
    assert_eq!(rendered[1], RenderedDraft::Rendered("Lan".into()));
}

#[tokio::test]
async fn a_record_of_another_module_or_tenant_or_out_of_reach_is_not_found() {
    let crm = Crm::new().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Lan"}))
        .await;
    let other = TenantId::new("another-company").unwrap();
    for (tenant, module) in [(&other, Module::Customer), (&crm.w.tenant, Module::Lead)] {
        let refused = drafts(&crm)
            .render(
                tenant,
                &Access::everything(),
                module,
                &rid("c1"),
                &[plain("#Name")],
            )
            .await;
        assert!(
            matches!(refused, Err(DraftError::RecordNotFound { .. })),
            "{tenant} {module}: {refused:?}"
        );
    }
    // An administrator whose role reaches only their own records: the salesperson's customer
    // is as absent as another tenant's.
    crm.tenant_settings(|s| {
        s.access.administrator =
            serde_json::from_value(json!({"level": "own", "modules": {"Customer": ["read"]}}))
                .unwrap();
    })
    .await;
    let admin = crm
        .w
        .stores
        .users
        .get(&crm.w.tenant, &uid("u-manager"))
        .await
        .unwrap()
        .unwrap();
    let own = Access::of_user(
        &crm.w.stores.settings,
        &crm.w.stores.users,
        &crm.w.tenant,
        &admin,
    )
    .await
    .unwrap();
    let refused = drafts(&crm)
        .render(
            &crm.w.tenant,
            &own,
            Module::Customer,
            &rid("c1"),
            &[plain("#Name")],
        )
        .await;
    assert!(
        matches!(refused, Err(DraftError::RecordNotFound { .. })),
        "{refused:?}"
    );
}

fn uid(id: &str) -> crm_model::ids::UserId {
    crm_model::ids::UserId::new(id).unwrap()
}

//! Each user's customer page, over the in-memory stores: the summary card's fields and the
//! related lists with their columns, saved at a revision, checked against the tenant's schema,
//! applied by the customer view for that user only.

mod support;

use crm_model::record::service::RecordError;
use crm_model::user::preferences::{CustomerPageLayout, RelatedList, RelatedListLayout};
use serde_json::json;
use support::crm::{Crm, rid};

fn layout(summary: &[&str], related: &[(RelatedList, &[&str])]) -> CustomerPageLayout {
    CustomerPageLayout {
        summary_fields: summary.iter().map(|s| s.to_string()).collect(),
        related: related
            .iter()
            .map(|(list, columns)| RelatedListLayout {
                list: *list,
                columns: columns.iter().map(|c| c.to_string()).collect(),
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_users_layout_orders_and_trims_the_customer_view_for_them_only() {
    let crm = Crm::new().await;
    crm.tea_customer().await;
    let records = crm.records();
    let sales = crm.sales();
    let default = records.layout(&sales).await.unwrap();
    assert_eq!(default.revision, 0, "nothing saved yet");
    assert_eq!(default.value.related.len(), RelatedList::ALL.len());

    let mine = layout(
        &["Name", "Phone", "LoyaltyPoints"],
        &[
            (RelatedList::Orders, &["Code", "Amount"]),
            (RelatedList::Contacts, &["Name"]),
        ],
    );
    let saved = records.save_layout(&sales, &mine, 0).await.unwrap();
    assert_eq!(saved.revision, 1);
    let view = records.customer_view(&sales, &rid("c1")).await.unwrap();
    assert_eq!(view.summary_fields, ["Name", "Phone", "LoyaltyPoints"]);
    let lists: Vec<RelatedList> = view.lists.iter().map(|l| l.list).collect();
    assert_eq!(lists, [RelatedList::Orders, RelatedList::Contacts]);
    let orders = &view.lists[0];
    assert!(!orders.items.is_empty());
    for item in &orders.items {
        assert!(
            item.fields.keys().all(|k| k == "Code" || k == "Amount"),
            "{item:?}"
        );
    }
    assert_eq!(
        view.lists[1].items[0].fields,
        json!({"Name": "Anh Tuấn"}).as_object().unwrap().clone()
    );

    // Saved from a page read before: refused, nothing changed.
    let stale = records.save_layout(&sales, &mine, 0).await;
    assert!(matches!(stale, Err(RecordError::Stale { .. })), "{stale:?}");
    // Another user still has the default.
    let theirs = records
        .customer_view(&crm.actor("u-manager"), &rid("c1"))
        .await
        .unwrap();
    assert_eq!(theirs.lists.len(), RelatedList::ALL.len());
    assert!(theirs.summary_fields.len() > 10, "every field");
}

#[tokio::test]
async fn a_layout_naming_fields_its_modules_lack_is_refused_field_by_field() {
    let crm = Crm::new().await;
    let bad = layout(
        &["Name", "Nope", "Name"],
        &[
            (RelatedList::Orders, &["Code", "Stage"]),
            (RelatedList::Orders, &[]),
        ],
    );
    match crm.records().save_layout(&crm.sales(), &bad, 0).await {
        Err(RecordError::Invalid(problems)) => {
            let mut paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            paths.sort();
            assert_eq!(
                paths,
                [
                    "/related/0/columns/1",
                    "/related/1/columns",
                    "/related/1/list",
                    "/summary_fields/1",
                    "/summary_fields/2",
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        crm.records().layout(&crm.sales()).await.unwrap().revision,
        0,
        "nothing saved"
    );
}

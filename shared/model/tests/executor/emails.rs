//! Email: one message per recipient, addressed to it alone, with the action's copies; each
//! recipient its own exactly-once unit.

use super::*;

/// The birthday workflow whose email also goes to `extra` addresses, with a Cc and a Bcc.
fn copied_email(extra: &[String]) -> serde_json::Value {
    let mut definition = birthday_workflow();
    let email = &mut definition["actions"][1];
    email["extra_addresses"] = json!(extra);
    email["cc"] = json!(["sales-lead@example.vn"]);
    email["bcc"] = json!(["archive@example.vn"]);
    definition
}

fn addresses(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("guest{i:02}@example.vn")).collect()
}

#[tokio::test]
async fn each_recipient_gets_a_message_of_its_own_with_the_copies_and_more_than_fifty_is_fine() {
    let w = World::new().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "An", "Email": "an@example.vn", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-many", copied_email(&addresses(60))).await;
    let job = w.job(&workflow, &customer, "email");
    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));

    let mails = w.email.delivered();
    assert_eq!(mails.len(), 62, "the customer, the manager and 60 guests");
    let mut to: Vec<&str> = mails.iter().map(|m| m.email.to.as_str()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 62, "each address once");
    for mail in &mails {
        assert_eq!(mail.email.cc, ["sales-lead@example.vn"]);
        assert_eq!(mail.email.bcc, ["archive@example.vn"]);
    }
    let customer_mail = mails
        .iter()
        .find(|m| m.email.to == "an@example.vn")
        .expect("the customer's own message");
    assert!(
        !customer_mail.email.html.contains("guest") && !customer_mail.email.to.contains(','),
        "the customer sees no other recipient"
    );
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(run.recipients.len(), 62);
    assert_eq!(run.output.len(), 62, "one message id per recipient");
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    assert_eq!(w.email.delivered().len(), 62);
}

#[tokio::test]
async fn an_outage_midway_sends_only_the_rest_on_redelivery() {
    let w = World::new().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "An", "Email": "an@example.vn", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-midway", copied_email(&addresses(5))).await;
    let job = w.job(&workflow, &customer, "email");
    w.email.deliver_next(3);
    w.email.fail_next(
        1,
        SendError::Transient("HTTP 503 Service Unavailable".into()),
    );
    assert!(matches!(
        w.execute(&job).await,
        Err(ExecuteError::Provider(_))
    ));
    assert_eq!(w.email.delivered().len(), 3);
    let halfway = w.run(&job.idempotency_key()).await;
    assert_eq!(halfway.status, RunStatus::Retrying);

    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    let mails = w.email.delivered();
    assert_eq!(mails.len(), 7, "three, then the four left");
    let mut to: Vec<&str> = mails.iter().map(|m| m.email.to.as_str()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 7, "nobody twice");
}

#[tokio::test]
async fn addresses_differing_only_in_case_get_one_message() {
    let w = World::new().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "An", "Email": "An@Example.vn", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w
        .workflow("wf-case", copied_email(&["an@example.vn".to_owned()]))
        .await;
    let job = w.job(&workflow, &customer, "email");
    w.execute(&job).await.unwrap();
    let to: Vec<String> = w
        .email
        .delivered()
        .iter()
        .map(|m| m.email.to.to_lowercase())
        .collect();
    assert_eq!(to.iter().filter(|a| *a == "an@example.vn").count(), 1);
}

#[tokio::test]
async fn an_address_whose_case_changed_after_it_was_sent_to_is_not_sent_to_again() {
    let w = World::new().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "An", "Email": "An@Example.vn", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-case-retry", birthday_workflow()).await;
    let job = w.job(&workflow, &customer, "email");
    // The customer's message goes out, the manager's meets an outage.
    w.email.deliver_next(1);
    w.email.fail_next(
        1,
        SendError::Transient("HTTP 503 Service Unavailable".into()),
    );
    assert!(matches!(
        w.execute(&job).await,
        Err(ExecuteError::Provider(_))
    ));
    // Someone retypes the address in lower case before the redelivery.
    let stored = w.stored(&customer).await;
    let mut fields = stored.value.fields.clone();
    fields.insert("Email".into(), json!("an@example.vn"));
    w.stores
        .records
        .replace(
            &w.tenant,
            &StoredRecord {
                id: customer.clone(),
                module: Module::Customer,
                fields,
            },
            stored.revision,
        )
        .await
        .unwrap();
    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    let to_customer = w
        .email
        .delivered()
        .iter()
        .filter(|m| m.email.to.eq_ignore_ascii_case("an@example.vn"))
        .count();
    assert_eq!(
        to_customer, 1,
        "one message to the customer, whatever the case"
    );
    assert_eq!(w.email.delivered().len(), 2, "and one to the manager");
}

//! Reading back what the pipeline did: jobs off the executor's queue, records of a module, and
//! the emulator's record of SMS and email.

use serde_json::Value;

use crm_model::ids::TenantId;
use crm_model::ports::RecordStore;

/// Every job of the demo tenant in the queue, removed once read, as the SQS event source hands
/// messages to the executor (records with body, attributes and the queue's ARN). Other tenants'
/// jobs are left where they are.
pub async fn drain_messages(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    tenant: &TenantId,
) -> Result<Vec<Value>, String> {
    use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
    let arn = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("reading the queue: {e:?}"))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let mut records = Vec::new();
    loop {
        let output = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| format!("reading the queue: {e:?}"))?;
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(records);
        }
        for message in messages {
            let body = message.body().unwrap_or("{}");
            let event: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
            if event["detail"]["tenant"].as_str() != Some(tenant.as_str()) {
                continue;
            }
            let attributes: serde_json::Map<String, Value> = message
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            records.push(serde_json::json!({
                "messageId": message.message_id().unwrap_or_default(),
                "receiptHandle": message.receipt_handle().unwrap_or_default(),
                "body": body,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": message.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": region,
            }));
            if let Some(receipt) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?;
            }
        }
    }
}

/// How many records of a module the tenant has, read through the module listing.
pub async fn count_records(
    records: &dyn RecordStore,
    tenant: &TenantId,
    module: crm_model::schema::Module,
) -> Result<usize, String> {
    let mut count = 0;
    let mut page = crm_model::ports::PageRequest::first(100);
    loop {
        let found = records
            .list(
                tenant,
                module,
                &crm_model::ports::RecordFilter::default(),
                &page,
            )
            .await
            .map_err(|e| e.to_string())?;
        count += found.items.len();
        match found.next {
            Some(next) => page.cursor = Some(next),
            None => return Ok(count),
        }
    }
}

/// What the emulator recorded of the sends (SNS SMS, SES messages): moto keeps no SES or SMS
/// endpoint to read them back through, only this state document.
pub fn emulator_state() -> Result<Value, String> {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let output = std::process::Command::new("curl")
        .args(["-sf", &format!("{endpoint}/moto-api/data.json")])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    serde_json::from_slice(&output.stdout).map_err(|e| format!("emulator state: {e}"))
}

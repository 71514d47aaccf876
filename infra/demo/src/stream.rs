//! The records table's stream as the DynamoDB event source hands it to `record-events`: read from
//! the emulator's stream API and shaped as a Lambda DynamoDB stream event.

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// DynamoDB's typed JSON (`{"S": "..."}`), which the event carries.
fn typed(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::L(items) => json!({"L": items.iter().map(typed).collect::<Vec<_>>()}),
        AttributeValue::M(map) => json!({"M": image(map)}),
        _ => json!({"NULL": true}),
    }
}

fn image(item: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    item.iter().map(|(k, v)| (k.clone(), typed(v))).collect()
}

/// Every stream record of the item with partition key `pk`, oldest first.
pub async fn changes_of(
    sdk: &aws_config::SdkConfig,
    table: &str,
    pk: &str,
) -> Result<Vec<Value>, String> {
    let arn = aws_sdk_dynamodb::Client::new(sdk)
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or("the records table has no stream")?;
    let streams = aws_sdk_dynamodbstreams::Client::new(sdk);
    let shards = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?
        .stream_description
        .map(|d| d.shards.unwrap_or_default())
        .unwrap_or_default();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let mut records = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap_or_default())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?
            .shard_iterator;
        while let Some(current) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(current)
                .limit(1000)
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            let got = page.records.unwrap_or_default();
            if got.is_empty() {
                break;
            }
            for record in got {
                let Some(data) = record.dynamodb else {
                    continue;
                };
                let keys = data.keys.as_ref().map(image).unwrap_or_default();
                if keys.get("pk") != Some(&json!({"S": pk})) {
                    continue;
                }
                let mut change = json!({
                    "Keys": keys,
                    "SequenceNumber": data.sequence_number,
                    "SizeBytes": data.size_bytes,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                    "ApproximateCreationDateTime":
                        data.approximate_creation_date_time.map(|t| t.secs()),
                });
                if let Some(new) = &data.new_image {
                    change["NewImage"] = Value::Object(image(new));
                }
                if let Some(old) = &data.old_image {
                    change["OldImage"] = Value::Object(image(old));
                }
                records.push(json!({
                    "eventID": record.event_id,
                    "eventName": record.event_name.map(|n| n.as_str().to_owned()),
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": region,
                    "eventSourceARN": arn,
                    "dynamodb": change,
                }));
            }
            iterator = page.next_shard_iterator;
        }
    }
    Ok(records)
}

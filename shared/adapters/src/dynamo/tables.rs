//! Table administration for tests and benchmarks: a private copy of a provisioned table's key
//! schema and indexes, so that global structures (the schedule's due index) are not shared.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex, Projection};

/// Creates `to` with the attribute definitions, keys and global indexes of `from`.
pub async fn copy_table_schema(client: &Client, from: &str, to: &str) -> Result<(), String> {
    let source = client
        .describe_table()
        .table_name(from)
        .send()
        .await
        .map_err(|e| format!("describing {from}: {e:?}"))?
        .table
        .ok_or_else(|| format!("{from} has no description"))?;
    let indexes = source
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(index.index_name().unwrap_or_default())
                .set_key_schema(Some(index.key_schema().to_vec()))
                .projection(
                    index
                        .projection()
                        .cloned()
                        .unwrap_or_else(|| Projection::builder().build()),
                )
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    client
        .create_table()
        .table_name(to)
        .set_attribute_definitions(Some(source.attribute_definitions().to_vec()))
        .set_key_schema(Some(source.key_schema().to_vec()))
        .set_global_secondary_indexes(Some(indexes).filter(|i: &Vec<_>| !i.is_empty()))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| format!("creating {to}: {e:?}"))?;
    Ok(())
}

//! The contract suite of `crm_model::testing::contract` against the DynamoDB stores on the local
//! emulator (`infra/stack.sh up`): every check with fresh tenants, and the schedule checks with a
//! schedule table of their own (its due index and scan window are global).

mod support;

use crm_adapters::dynamo::{DynamoScheduleStore, Stores};

async fn stores() -> Stores {
    let clients = support::clients().await;
    Stores::new(&clients.dynamodb, &support::tables())
}

async fn schedule() -> DynamoScheduleStore {
    let clients = support::clients().await;
    let table = support::fresh_schedule_table(&clients.dynamodb).await;
    DynamoScheduleStore::new(clients.dynamodb, table)
}

crm_model::contract_tests! {
    stores: stores().await,
    schedule: schedule().await,
    tenant: support::fresh_tenant(),
}

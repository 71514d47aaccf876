//! The contract suite: the same checks against any implementation of a port, so that the
//! in-memory stores and the DynamoDB adapters cannot drift apart.
//!
//! Each check is one `pub async fn`, named as the rule it proves, taking the port(s) and fresh
//! [`Tenants`] from the caller. A check works only inside the tenants it is given and never
//! assumes an empty table, so the DynamoDB runner can share one emulator between parallel tests.
//! The exceptions are the schedule checks: the due index and the scan window are global across
//! tenants, so they take a schedule store of the test's own.
//!
//! One module per port, split where a port's checks outgrow a file: `workflows`, `settings`,
//! `users`, `records` (and `identity`: identity lookups, merge markers), `notifications`, `runs`
//! (and `commits`: the run ledger's transactions with their effects), `schedule` (entries,
//! claims, the due index, the scan window; and `outboxes`: outboxes, event claims, maintenance).
//!
//! The checks do not need a runtime of their own; a runner supplies one. [`contract_tests!`]
//! expands the whole list into `#[tokio::test]` functions for a fixture:
//!
//! ```text
//! crm_model::contract_tests! {
//!     stores: my_stores().await,      // pub fields workflows, settings, users, records, runs, inbox
//!     schedule: my_schedule().await,  // a schedule store with a due index of its own
//!     tenant: my_fresh_tenant(),      // a tenant no other test uses, each time it is evaluated
//! }
//! ```
//!
//! [`contract_tests!`]: crate::contract_tests

/// Asserts that a store call was refused with `$error`, a pattern of [`StoreError`]; the rest
/// says what was refused, as `format!` arguments.
macro_rules! refused {
    ($result:expr, $error:pat, $($why:tt)+) => {
        match $result {
            Err($error) => {}
            other => panic!(
                "{}: expected Err({}), got {other:?}",
                format!($($why)+),
                stringify!($error)
            ),
        }
    };
}

pub mod approvals;
pub mod commits;
pub mod dependents;
pub mod identity;
pub mod messages;
pub mod notifications;
pub mod outboxes;
pub mod records;
pub mod runs;
pub mod schedule;
pub mod settings;
pub mod users;
pub mod workflows;

#[cfg(test)]
mod memory_runner;

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::ids::{TenantId, UserId};
use crate::store::{Page, PageRequest, StoreError};

/// The tenants a check works in: `tenant` holds its data, `other` proves that nothing leaks
/// across tenants. Both must be fresh (used by no other test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenants {
    pub tenant: TenantId,
    pub other: TenantId,
}

impl Tenants {
    pub fn new(tenant: TenantId, other: TenantId) -> Self {
        assert_ne!(tenant, other, "a check needs two different tenants");
        Self { tenant, other }
    }
}

/// An instant of the checks' calendar, `2026-03-01T08:00:00Z` plus `minutes`. Whole seconds, as
/// every store keeps at least those.
fn at(minutes: i64) -> DateTime<Utc> {
    let base = DateTime::<Utc>::from_timestamp(1_772_352_000, 0).expect("a valid instant");
    base + chrono::Duration::minutes(minutes)
}

fn user(id: &str) -> UserId {
    UserId::new(id).expect("a valid user id")
}

/// Every item of a listing, page by page from the first, checking that no page is larger than
/// asked and that the listing ends.
async fn all_pages<T, F, Fut>(what: &str, limit: u32, mut read: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let mut page = PageRequest::first(limit);
    let mut items = Vec::new();
    for _ in 0..100 {
        let next = read(page.clone())
            .await
            .unwrap_or_else(|e| panic!("{what}: reading a page failed: {e:?}"));
        assert!(
            next.items.len() <= limit as usize,
            "{what}: a page of limit {limit} held {} items",
            next.items.len()
        );
        items.extend(next.items);
        match next.next {
            Some(cursor) => page.cursor = Some(cursor),
            None => return items,
        }
    }
    panic!("{what}: the listing did not end after 100 pages");
}

/// The request for the second page of a listing of `limit` items a page, which must have
/// more than one page.
async fn second_page<T, F, Fut>(what: &str, limit: u32, read: F) -> PageRequest
where
    F: FnOnce(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let first = read(PageRequest::first(limit))
        .await
        .unwrap_or_else(|e| panic!("{what}: reading the first page failed: {e:?}"));
    let cursor = first
        .next
        .unwrap_or_else(|| panic!("{what}: a listing with more items than the limit has a next"));
    PageRequest {
        limit,
        cursor: Some(cursor),
    }
}

/// Expands the contract suite into one `#[tokio::test]` per check, in a module per port, for a
/// fixture given as three expressions evaluated inside each test:
///
/// - `stores`: a value with fields `workflows`, `settings`, `users`, `records`, `runs`, `inbox`
///   and `approvals` implementing the ports (the run ledger's effects must land in `records` and
///   `inbox`), like `crm_adapters::dynamo::Stores` and `testing::memory::MemoryStores`;
/// - `schedule`: a schedule store whose due index and scan window belong to the test alone;
/// - `tenant`: a tenant no other test uses (evaluated twice per test).
#[macro_export]
macro_rules! contract_tests {
    (stores: $stores:expr, schedule: $schedule:expr, tenant: $tenant:expr $(,)?) => {
        $crate::__contract_group! {
            workflows,
            (let stores = $stores;),
            (&stores.workflows),
            ($tenant),
            [
                a_created_workflow_reads_back_for_its_tenant_only,
                creating_an_existing_workflow_is_refused,
                a_stale_revision_is_refused,
                saving_a_missing_workflow_is_not_found,
                an_edited_draft_rewrites_its_current_version,
                every_saved_version_stays_readable,
                activation_beyond_the_limit_is_refused_and_saves_nothing,
                deactivation_frees_a_slot,
                the_limit_counts_each_module_and_tenant_apart,
                each_kind_counts_apart_and_a_deactivation_at_zero_still_saves,
                listing_orders_by_module_then_id,
                listing_filters_by_module_and_pages_with_cursors,
                deleting_needs_the_current_revision_and_removes_every_version,
            ]
        }
        $crate::__contract_group! {
            settings,
            (let stores = $stores;),
            (&stores.settings),
            ($tenant),
            [
                a_created_setting_reads_back_for_its_tenant_and_kind_only,
                creating_an_existing_setting_is_refused,
                replacing_needs_the_current_revision,
                deleting_needs_the_current_revision,
                listing_returns_one_kind_in_id_order,
                infos_describe_only_the_settings_that_exist,
                tenant_settings_start_as_the_defaults_at_revision_zero,
            ]
        }
        $crate::__contract_group! {
            users,
            (let stores = $stores;),
            (&stores.users),
            ($tenant),
            [
                a_created_user_reads_back_for_its_tenant_only,
                creating_a_taken_id_is_refused,
                put_adds_or_replaces,
                existing_names_only_the_tenants_users,
                get_many_reads_only_the_tenants_users_that_exist,
                listing_pages_through_every_user_in_id_order,
                a_layout_is_saved_at_its_revision_for_its_user_only,
            ]
        }
        $crate::__contract_group! {
            records,
            (let stores = $stores;),
            (&stores.records),
            ($tenant),
            [
                a_created_record_reads_back_for_its_tenant_only,
                creating_an_existing_record_is_refused,
                replacing_needs_the_current_revision,
                computed_fields_change_only_themselves_at_the_current_revision,
                open_records_are_counted_per_owner_and_module,
                deleting_needs_the_current_revision,
                get_many_leaves_out_the_absent,
                related_lists_the_records_that_reference_a_customer,
                listing_is_most_recently_updated_first,
                a_filter_keeps_only_matching_records_across_pages,
                pages_follow_cursors_and_refuse_another_tenants,
            ]
        }
        $crate::__contract_group! {
            dependents,
            (let stores = $stores;),
            (&stores.records),
            ($tenant),
            [
                a_customer_with_a_dependent_is_not_deleted_and_a_dependent_of_a_gone_customer_is_refused,
                moving_an_order_to_another_customer_moves_what_blocks_their_deletes,
                an_order_racing_its_customers_delete_never_outlives_it,
            ]
        }
        $crate::__contract_group! {
            identity,
            (let stores = $stores;),
            (&stores.records),
            ($tenant),
            [
                a_customer_is_found_by_its_identity_keys,
                a_changed_phone_no_longer_finds_the_customer,
                a_deleted_customer_is_no_longer_found,
                merge_markers_are_kept_per_survivor_oldest_first,
                a_redemption_is_written_with_its_customer_once,
            ]
        }
        $crate::__contract_group! {
            messages,
            (let stores = $stores;),
            (&stores.records),
            ($tenant),
            [
                a_customers_messages_are_read_newest_first_apart_from_its_related_lists,
                a_contact_is_found_by_its_email_apart_from_customers,
            ]
        }
        $crate::__contract_group! {
            notifications,
            (let stores = $stores;),
            (&stores.inbox),
            ($tenant),
            [
                delivering_the_same_notification_twice_stores_it_once,
                the_same_id_at_another_instant_is_stored_once,
                the_inbox_lists_newest_first_page_by_page,
                unread_only_leaves_out_what_was_read,
                marking_another_users_notification_is_not_found,
            ]
        }
        $crate::__contract_group! {
            runs,
            (let stores = $stores;),
            (&stores.runs),
            ($tenant),
            [
                a_run_is_claimed_once,
                an_expired_run_is_taken_over_once,
                a_retry_is_requested_only_for_retryable_runs,
                progress_is_recorded_only_by_the_delivery_holding_the_claim,
                dead_lettered_runs_are_listed_latest_first_until_retried,
                a_succeeded_run_is_never_overwritten,
                an_unstarted_failure_never_covers_a_run_that_started,
                history_lists_a_workflows_runs_latest_first,
                record_history_lists_a_records_runs_latest_first,
            ]
        }
        $crate::__contract_group! {
            commits,
            (let stores = $stores;),
            (&stores.runs, &stores.records, &stores.inbox),
            ($tenant),
            [
                a_commit_writes_the_run_and_its_effects_together,
                a_stale_replace_cancels_the_whole_commit,
                a_moved_counter_cancels_the_whole_commit,
                a_second_commit_loses_the_race_and_writes_nothing,
                counters_advance_one_step_at_a_time,
                a_turn_taken_alone_and_a_commits_turn_share_the_counter,
            ]
        }
        $crate::__contract_group! {
            approvals,
            (let stores = $stores;),
            (&stores.approvals, &stores.records),
            ($tenant),
            [
                a_submission_locks_its_record_and_reads_back_for_its_tenant_only,
                a_submission_over_a_moved_record_or_a_taken_id_saves_nothing,
                a_transition_needs_the_requests_revision_and_a_refused_one_writes_nothing,
                an_outcome_that_frees_a_moved_record_is_refused_whole,
                a_records_requests_read_newest_first_page_by_page,
            ]
        }
        $crate::__contract_group! {
            schedule,
            (let schedule = $schedule;),
            (&schedule),
            ($tenant),
            [
                a_new_entry_is_put_at_revision_zero_once,
                an_entry_is_read_only_by_its_tenant,
                a_claim_needs_the_entrys_revision,
                a_claim_without_next_disarms_the_entry,
                entries_of_pages_through_a_workflows_entries,
                due_returns_only_what_is_due_in_its_shard_oldest_first,
                deleting_an_entry_removes_it_from_the_index,
                the_scan_end_never_moves_backwards,
                a_held_entry_waits_for_its_retry_and_a_parked_one_leaves_the_index,
                a_yearly_entry_on_the_calendar_is_read_by_its_time_of_year_and_keeps_its_place,
                the_calendar_is_read_across_a_years_end_and_a_held_entry_leaves_it,
            ]
        }
        $crate::__contract_group! {
            outboxes,
            (let schedule = $schedule;),
            (&schedule),
            ($tenant),
            [
                a_claimed_outbox_is_due_once_its_retry_after_passed,
                an_outbox_is_taken_over_once,
                a_cleared_outbox_is_gone,
                an_event_is_claimed_once,
                maintenance_stays_due_until_its_checkpoint_removes_it,
            ]
        }
    };
}

/// One port's checks as tests, in a module named after the port's file.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_group {
    ($group:ident, $setup:tt, $ports:tt, $tenant:tt, [$($check:ident),* $(,)?]) => {
        mod $group {
            #[allow(unused_imports)]
            use super::*;
            $($crate::__contract_test!($group, $check, $setup, $ports, $tenant);)*
        }
    };
}

/// One check as a test: `$setup` builds the fixture, `$port`s are handed to the check, followed
/// by fresh tenants.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_test {
    ($group:ident, $check:ident, ($($setup:tt)*), ($($port:expr),+), ($tenant:expr)) => {
        #[tokio::test]
        async fn $check() {
            $($setup)*
            let tenants = $crate::testing::contract::Tenants::new($tenant, $tenant);
            $crate::testing::contract::$group::$check($($port,)+ &tenants).await;
        }
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The identifiers a source file mentions.
    fn words(source: &str) -> BTreeSet<&str> {
        source
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect()
    }

    #[test]
    fn every_check_is_listed_in_the_macro() {
        let listed = words(include_str!("mod.rs"));
        let files = [
            ("workflows", include_str!("workflows.rs")),
            ("settings", include_str!("settings.rs")),
            ("users", include_str!("users.rs")),
            ("records", include_str!("records.rs")),
            ("dependents", include_str!("dependents.rs")),
            ("identity", include_str!("identity.rs")),
            ("messages", include_str!("messages.rs")),
            ("notifications", include_str!("notifications.rs")),
            ("runs", include_str!("runs.rs")),
            ("commits", include_str!("commits.rs")),
            ("approvals", include_str!("approvals.rs")),
            ("schedule", include_str!("schedule.rs")),
            ("outboxes", include_str!("outboxes.rs")),
        ];
        for (file, source) in files {
            let checks: Vec<&str> = source
                .split("pub async fn ")
                .skip(1)
                .filter_map(|rest| rest.split('(').next())
                .collect();
            assert!(!checks.is_empty(), "{file}.rs has no checks");
            for check in checks {
                assert!(
                    listed.contains(check),
                    "{file}::{check} is missing from contract_tests!"
                );
            }
        }
    }
}

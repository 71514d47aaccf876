//! Evaluating a compiled condition allocates nothing: a counting global allocator proves it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use chrono::{DateTime, Utc};
use crm_model::condition::{CompiledCondition, Condition, ConditionScope, EvalContext};
use crm_model::ids::RecordId;
use crm_model::record::{ParseMode, Record, parse_fields};
use crm_model::schema::{Module, Schema};
use serde_json::json;

struct Counting;

thread_local! {
    // Per thread: the test harness's own threads allocate while the test runs. Const-initialised,
    // so reading it from inside the allocator never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // During thread teardown the slot may be gone; such allocations are not this test's.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn evaluating_every_operator_family_allocates_nothing() {
    let schema = Schema::builtin();
    let module = schema.module(Module::Customer);
    let condition: Condition = serde_json::from_value(
        json!({"type": "matching", "group": {"combine": "or", "rules": [
            {"combine": "and", "rules": [
                {"field": "Name", "op": "contains", "value": "THỊ"},
                {"field": "Email", "op": "starts_with", "value": "mai"},
                {"field": "Province", "op": "in_list", "value": ["Hà Nội", "Huế"]},
                {"field": "CustomerType", "op": "equals", "value": "Individual"},
                {"field": "LoyaltyPoints", "op": "between", "value": [100, 5000]},
                {"field": "Birthday", "op": "within_next_days", "value": 400},
                {"field": "LastPurchaseDate", "op": "more_than_days_ago", "value": 30},
                {"field": "CreatedAt", "op": "less_than", "value": "2030-01-01"},
                {"field": "Rank", "op": "changed_to", "value": "Gold"},
                {"field": "Address", "op": "is_empty"}
            ]},
            {"field": "TaxCode", "op": "not_equals", "value": "0101"}
        ]}}),
    )
    .unwrap();
    let compiled =
        CompiledCondition::compile(&condition, module, ConditionScope::RecordChange, "").unwrap();
    let fields = |v: serde_json::Value| {
        parse_fields(module, v.as_object().unwrap(), "", ParseMode::Stored).unwrap()
    };
    let old = Record {
        id: RecordId::new("c1").unwrap(),
        module: Module::Customer,
        fields: fields(json!({"Rank": "Silver"})),
    };
    let new = Record {
        id: RecordId::new("c1").unwrap(),
        module: Module::Customer,
        fields: fields(json!({
            "Name": "Nguyễn Thị Mai", "Email": "Mai@example.vn", "Province": "Huế",
            "CustomerType": "Individual", "LoyaltyPoints": 1200, "Birthday": "1990-12-01",
            "LastPurchaseDate": "2026-01-01", "CreatedAt": "2026-01-01T00:00:00Z", "Rank": "Gold"
        })),
    };
    let ctx = EvalContext {
        now: "2026-11-22T03:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        tz: chrono_tz::Asia::Ho_Chi_Minh,
        previous: Some(&old),
    };

    let before = allocations();
    let mut matched = 0;
    for _ in 0..1000 {
        matched += usize::from(compiled.matches(&new, &ctx));
    }
    let allocated = allocations() - before;
    assert_eq!(matched, 1000);
    assert_eq!(allocated, 0);
}

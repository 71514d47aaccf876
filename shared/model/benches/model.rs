//! Model figures: condition evaluation per record (5 clauses), template rendering, next-fire
//! computation. Prints `key=value` lines. Run: `cargo bench -p crm-model --bench model`.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use crm_model::condition::{CompiledCondition, Condition, ConditionScope, EvalContext};
use crm_model::ids::RecordId;
use crm_model::record::{ParseMode, Record, parse_fields};
use crm_model::schema::{Module, Schema};
use crm_model::template::{Escape, MergeTemplate, NoNames, RenderContext};
use crm_model::trigger::{Anchor, CatchUp, Feb29Policy, Offset, Recurrence, TimeTrigger};
use serde_json::json;

const RECORDS: usize = 10_000;

fn customers(schema: &Schema) -> Vec<Record> {
    let module = schema.module(Module::Customer);
    let provinces = ["Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Huế", "Cần Thơ"];
    (0..RECORDS)
        .map(|i| {
            let birthday = NaiveDate::from_ymd_opt(1960, 1, 1).unwrap()
                + Duration::days((i * 7) as i64 % 20_000);
            let fields = json!({
                "Name": format!("Nguyễn Thị Khách {i}"),
                "Email": format!("khach{i}@example.vn"),
                "Phone": format!("09{:08}", i),
                "Province": provinces[i % provinces.len()],
                "CustomerType": if i % 3 == 0 { "Organization" } else { "Individual" },
                "LoyaltyPoints": (i * 37) % 5000,
                "Birthday": birthday.to_string(),
            });
            Record {
                id: RecordId::new(format!("c{i}")).unwrap(),
                module: Module::Customer,
                fields: parse_fields(module, fields.as_object().unwrap(), "", ParseMode::Stored)
                    .unwrap(),
            }
        })
        .collect()
}

/// Nanoseconds per call of `f`, over enough rounds to run about half a second.
fn measure(mut f: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    let mut calls = 0usize;
    while start.elapsed().as_millis() < 500 {
        for _ in 0..1000 {
            f(calls);
            calls += 1;
        }
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

fn main() {
    let schema = Schema::builtin();
    let module = schema.module(Module::Customer);
    let records = customers(&schema);
    let now: DateTime<Utc> = "2026-11-22T01:00:00Z".parse().unwrap();

    let condition: Condition = serde_json::from_value(
        json!({"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "CustomerType", "op": "equals", "value": "Individual"},
            {"field": "Phone", "op": "is_not_empty"},
            {"field": "Province", "op": "in_list", "value": ["Hà Nội", "Huế", "Cần Thơ"]},
            {"field": "LoyaltyPoints", "op": "between", "value": [100, 4900]},
            {"field": "Name", "op": "contains", "value": "khách"}
        ]}}),
    )
    .unwrap();
    let compiled =
        CompiledCondition::compile(&condition, module, ConditionScope::RecordState, "").unwrap();
    let ctx = EvalContext {
        now,
        tz: chrono_tz::Asia::Ho_Chi_Minh,
        previous: None,
    };
    let matching = records.iter().filter(|r| compiled.matches(r, &ctx)).count();
    let eval_ns = measure(|i| {
        black_box(compiled.matches(black_box(&records[i % RECORDS]), &ctx));
    });

    let body = "<p>Kính gửi #Name,</p><p>Nhân dịp sinh nhật ngày #{Ngày sinh}, chúng tôi xin gửi \
                lời chúc tốt đẹp nhất. Quý khách đang có #LoyaltyPoints điểm tích lũy tại \
                #Province.</p><p>Mọi thắc mắc xin liên hệ qua #Email hoặc #Phone.</p>";
    let template = MergeTemplate::parse(body, &schema, Module::Customer).unwrap();
    let render_ctx = RenderContext {
        tz: chrono_tz::Asia::Ho_Chi_Minh,
        names: &NoNames,
        escape: Escape::Html,
    };
    let rendered_bytes = template.render(module, &records[0], &render_ctx).len();
    let render_ns = measure(|i| {
        black_box(template.render(module, black_box(&records[i % RECORDS]), &render_ctx));
    });
    let parse_ns = measure(|_| {
        black_box(MergeTemplate::parse(black_box(body), &schema, Module::Customer).ok());
    });

    let trigger = TimeTrigger {
        date_field: "Birthday".into(),
        offset: Offset::ON_THE_DAY,
        recurrence: Recurrence::Yearly,
        time_of_day: NaiveTime::from_hms_opt(8, 0, 0),
        feb29: None,
        catch_up: CatchUp::default(),
    };
    let anchors: Vec<Anchor> = records
        .iter()
        .map(|r| Anchor::Date(r.get("Birthday").and_then(|v| v.as_date()).unwrap()))
        .collect();
    let next_fire_ns = measure(|i| {
        black_box(trigger.next_after(
            anchors[i % RECORDS],
            chrono_tz::Asia::Ho_Chi_Minh,
            Feb29Policy::Feb28,
            now,
        ));
    });

    println!("records={RECORDS}");
    println!("condition_clauses=5");
    println!("condition_matching_records={matching}");
    println!("condition_eval_ns_per_record={eval_ns:.1}");
    println!("template_bytes_rendered={rendered_bytes}");
    println!("template_render_ns={render_ns:.1}");
    println!("template_parse_ns={parse_ns:.1}");
    println!("next_fire_ns={next_fire_ns:.1}");
}

use super::*;
use crate::ids::RecordId;
use crate::record::{ParseMode, parse_fields};
use crate::schema::{Module, Schema};
use crate::template::format::NoNames;
use crate::template::{LoadedNames, Wanted};
use proptest::prelude::*;
use serde_json::json;

fn customer(fields: serde_json::Value) -> Record {
    let schema = Schema::builtin();
    Record {
        id: RecordId::new("c1").unwrap(),
        module: Module::Customer,
        fields: parse_fields(
            schema.module(Module::Customer),
            fields.as_object().unwrap(),
            "",
            ParseMode::Stored,
        )
        .unwrap(),
    }
}

fn render(text: &str, record: &Record, escape: Escape) -> String {
    let schema = Schema::builtin();
    let module = schema.module(Module::Customer);
    let template = MergeTemplate::parse(text, &schema, Module::Customer).unwrap();
    template.render(
        module,
        record,
        &RenderContext {
            tz: chrono_tz::Asia::Ho_Chi_Minh,
            names: &NoNames,
            escape,
        },
    )
}

#[test]
fn names_and_labels_merge_with_vietnamese_formatting() {
    let r = customer(
        json!({"Name": "Nguyễn Thị Mai", "Birthday": "1992-03-08", "LoyaltyPoints": 12500}),
    );
    assert_eq!(
        render(
            "Chúc mừng sinh nhật #Name (#{Ngày sinh})! Điểm: #{Loyalty points}.",
            &r,
            Escape::Plain
        ),
        "Chúc mừng sinh nhật Nguyễn Thị Mai (08/03/1992)! Điểm: 12.500."
    );
}

#[test]
fn hash_before_non_letters_and_double_hash_stay_literal() {
    let r = customer(json!({"Code": "KH001"}));
    assert_eq!(
        render("Đơn #1 của #Code, ##Code, # ", &r, Escape::Plain),
        "Đơn #1 của KH001, #Code, # "
    );
}

#[test]
fn empty_fields_render_as_nothing() {
    let r = customer(json!({}));
    assert_eq!(render("[#Email]", &r, Escape::Plain), "[]");
}

#[test]
fn html_bodies_escape_field_values_not_the_template() {
    let r = customer(json!({"Name": "<script>alert('x')</script> & Co"}));
    assert_eq!(
        render("<p>Xin chào <b>#Name</b></p>", &r, Escape::Html),
        "<p>Xin chào <b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co</b></p>"
    );
}

#[test]
fn unknown_and_unclosed_fields_are_named() {
    let schema = Schema::builtin();
    let errors = MergeTemplate::parse(
        "Hi #Nmae, code #SALE50 #{Ngày cưới}",
        &schema,
        Module::Customer,
    )
    .unwrap_err();
    let names: Vec<_> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[0].contains("'Nmae'"));
    assert!(names[1].contains("'SALE50'"));
    assert!(names[2].contains("'Ngày cưới'"));
    let unclosed = MergeTemplate::parse("Hi #{Name", &schema, Module::Customer).unwrap_err();
    assert_eq!(unclosed, [MergeError::Unclosed { at: 3 }]);
}

#[test]
fn fields_lists_what_a_template_uses() {
    let schema = Schema::builtin();
    let module = schema.module(Module::Customer);
    let t = MergeTemplate::parse("#Name #{Điện thoại} #Name", &schema, Module::Customer).unwrap();
    assert_eq!(
        t.fields(module).collect::<Vec<_>>(),
        ["Name", "Phone", "Name"]
    );
}

fn order(fields: serde_json::Value) -> Record {
    let schema = Schema::builtin();
    Record {
        id: RecordId::new("o1").unwrap(),
        module: Module::Order,
        fields: parse_fields(
            schema.module(Module::Order),
            fields.as_object().unwrap(),
            "",
            ParseMode::Stored,
        )
        .unwrap(),
    }
}

fn user(id: &str, name: &str) -> crate::user::User {
    crate::user::User {
        id: crate::ids::UserId::new(id).unwrap(),
        name: name.into(),
        email: format!("{id}@example.vn"),
        phone: Some("0981000001".into()),
        team: None,
        role: crate::user::Role::Salesperson,
        manager: None,
        active: true,
    }
}

/// Renders `text` of `record`'s module with the names `record` and `known` give.
fn render_named(text: &str, record: &Record, names: &LoadedNames) -> String {
    let schema = Schema::builtin();
    let template = MergeTemplate::parse(text, &schema, record.module).unwrap();
    template.render(
        schema.module(record.module),
        record,
        &RenderContext {
            tz: chrono_tz::Asia::Ho_Chi_Minh,
            names,
            escape: Escape::Plain,
        },
    )
}

#[test]
fn user_and_reference_fields_show_names_and_parts_never_ids() {
    let mut names = LoadedNames::default();
    names.add_user(user("u-7f3a", "Trần Thị Bình"));
    names.add_user(user("u-lan", "Lê Văn Lan"));
    names.add_record(
        Module::Customer,
        customer(json!({"Name": "Công ty An Phát", "Phone": "0912345678", "Owner": "u-lan"})),
    );
    let o =
        order(json!({"Code": "DH-001", "Customer": "c1", "Owner": "u-7f3a", "Amount": 15000000}));
    assert_eq!(
        render_named(
            "Đơn #Code của #Customer (#{Khách hàng.Điện thoại}, phụ trách #{Khách hàng.Chủ sở hữu}), \
             người bán #Owner <#Owner.Email>: #Amount.",
            &o,
            &names
        ),
        "Đơn DH-001 của Công ty An Phát (0912345678, phụ trách Lê Văn Lan), \
         người bán Trần Thị Bình <u-7f3a@example.vn>: 15.000.000 ₫."
    );
    assert_eq!(
        render_named("#{Chủ sở hữu} #Owner.Phone", &o, &names),
        "Trần Thị Bình 0981000001"
    );
}

#[test]
fn a_user_or_record_not_found_renders_empty_or_its_default_never_an_id() {
    let o = order(json!({"Code": "DH-002", "Customer": "c-gone", "Owner": "u-gone"}));
    let names = LoadedNames::default();
    assert_eq!(render_named("[#Owner][#Customer]", &o, &names), "[][]");
    assert_eq!(
        render_named(
            "Kính gửi #{Khách hàng|Quý khách}, #{Chủ sở hữu.Email|cskh@example.vn}",
            &o,
            &names
        ),
        "Kính gửi Quý khách, cskh@example.vn"
    );
    let c = customer(json!({"Name": "An"}));
    assert_eq!(
        render_named(
            "#{Email|chưa có email} #{Tên khách hàng|Quý khách}",
            &c,
            &names
        ),
        "chưa có email An"
    );
}

#[test]
fn a_dot_after_a_field_ends_the_sentence_unless_it_names_a_part() {
    let mut names = LoadedNames::default();
    names.add_user(user("u-1", "Bình"));
    let c = customer(json!({"Name": "An", "Owner": "u-1"}));
    assert_eq!(
        render_named("Chào #Name. Gặp #Owner.", &c, &names),
        "Chào An. Gặp Bình."
    );
    assert_eq!(render_named("#Owner.Cảm ơn", &c, &names), "Bình.Cảm ơn");
    let schema = Schema::builtin();
    let errors =
        MergeTemplate::parse("#{Chủ sở hữu.Lương}", &schema, Module::Customer).unwrap_err();
    assert!(
        matches!(&errors[0], MergeError::UnknownPart { part, .. } if part == "Lương"),
        "{errors:?}"
    );
}

#[test]
fn wanted_lists_users_and_records_to_look_up_then_the_users_of_those_records() {
    let schema = Schema::builtin();
    let o = order(json!({"Code": "DH-003", "Customer": "c1", "Owner": "u-1"}));
    let template = MergeTemplate::parse(
        "#Owner #{Khách hàng.Chủ sở hữu} #Code",
        &schema,
        Module::Order,
    )
    .unwrap();
    let mut names = LoadedNames::default();
    let mut wanted = Wanted::default();
    template.wanted(schema.module(Module::Order), &o, &names, &mut wanted);
    assert_eq!(
        wanted.users.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        ["u-1"]
    );
    assert_eq!(
        wanted
            .records
            .iter()
            .map(|(m, r)| (*m, r.as_str()))
            .collect::<Vec<_>>(),
        [(Module::Customer, "c1")]
    );
    names.add_user(user("u-1", "Bình"));
    names.add_record(
        Module::Customer,
        customer(json!({"Name": "An", "Owner": "u-2"})),
    );
    let mut again = Wanted::default();
    template.wanted(schema.module(Module::Order), &o, &names, &mut again);
    assert_eq!(
        again.users.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        ["u-2"]
    );
    assert!(again.records.is_empty());
}

proptest! {
    #[test]
    fn text_without_hash_renders_unchanged(text in "[^#]{0,80}") {
        let r = customer(json!({}));
        prop_assert_eq!(render(&text, &r, Escape::Plain), text);
    }

    #[test]
    fn escaped_output_never_contains_raw_markup_from_values(name in "[a-z<>&\"' ]{1,30}") {
        let r = customer(json!({"Name": name}));
        let html = render("#Name", &r, Escape::Html);
        prop_assert!(!html.contains('<') && !html.contains('>') && !html.contains('"'));
    }
}

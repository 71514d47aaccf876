use super::*;
use crate::ids::RecordId;
use crate::record::{ParseMode, parse_fields};
use crate::schema::{Module, Schema};
use crate::template::format::NoNames;
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
    let template = MergeTemplate::parse(text, module).unwrap();
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
    let module = schema.module(Module::Customer);
    let errors = MergeTemplate::parse("Hi #Nmae, code #SALE50 #{Ngày cưới}", module).unwrap_err();
    let names: Vec<_> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[0].contains("'Nmae'"));
    assert!(names[1].contains("'SALE50'"));
    assert!(names[2].contains("'Ngày cưới'"));
    let unclosed = MergeTemplate::parse("Hi #{Name", module).unwrap_err();
    assert_eq!(unclosed, [MergeError::Unclosed { at: 3 }]);
}

#[test]
fn fields_lists_what_a_template_uses() {
    let schema = Schema::builtin();
    let module = schema.module(Module::Customer);
    let t = MergeTemplate::parse("#Name #{Điện thoại} #Name", module).unwrap();
    assert_eq!(
        t.fields(module).collect::<Vec<_>>(),
        ["Name", "Phone", "Name"]
    );
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

//! The approval samples of the catalogue ([`crate::workflow::samples`]): the quote discount
//! that needs the sales manager, and the seed's sales recording (orders under 50 million VND go
//! straight to accounting; from 50 million the salesperson's manager reviews them first).

use serde_json::json;

use crate::action::SettingKind;
use crate::workflow::WorkflowKind;
use crate::workflow::samples::{Sample, setting, user};

pub fn catalogue() -> Vec<Sample> {
    vec![
        Sample {
            id: "quote-discount-approval",
            name_vi: "Duyệt chiết khấu báo giá trên 20%",
            name_en: "Quote discount above 20% needs the sales manager",
            description: "A quote with a discount above 20% is approved by the sales manager (or \
                          the salesperson's manager) within a day, reminded after 20 hours and \
                          escalated at the deadline; the owner hears the outcome.",
            kind: WorkflowKind::Approval,
            bindings: vec![
                user("sales_manager", "the sales manager"),
                setting(
                    "sender",
                    SettingKind::EmailSender,
                    "the sender of the approvers' emails",
                ),
            ],
            definition: json!({
                "module": "Quote", "name": "Duyệt chiết khấu báo giá trên 20%",
                "description": "Báo giá có chiết khấu trên 20% cần trưởng phòng kinh doanh phê duyệt",
                "trigger": {"type": "approval",
                    "submitters": {"owner": true},
                    "steps": [{"name": "Trưởng phòng kinh doanh duyệt",
                               "approvers": [{"type": "user", "user": "${sales_manager}"},
                                             {"type": "submitter_manager"}],
                               "decide": "first",
                               "deadline": {"hours": 24, "remind_before_hours": 4, "escalate": true}}],
                    "on_approve": ["tell-approved"], "on_reject": ["tell-rejected"],
                    "email_sender": "${sender}"},
                "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                    {"field": "Discount", "op": "greater_than", "value": 20}]}},
                "actions": [
                    {"kind": "notification", "id": "tell-approved", "name": "Báo đã duyệt",
                     "notify_owner": true, "message": "Báo giá #Code đã được duyệt chiết khấu #Discount%"},
                    {"kind": "notification", "id": "tell-rejected", "name": "Báo bị từ chối",
                     "notify_owner": true, "message": "Báo giá #Code bị từ chối chiết khấu #Discount%"}
                ]
            }),
        },
        Sample {
            id: "order-sales-recording",
            name_vi: "Ghi doanh số đơn hàng",
            name_en: "Order sales recording",
            description: "The salesperson proposes recording an order's revenue. Orders from 50 \
                          million VND are reviewed by their manager first; accounting checks \
                          and records every order.",
            kind: WorkflowKind::Approval,
            bindings: vec![user("accountant", "the accountant who records revenue")],
            definition: json!({
                "module": "Order", "name": "Ghi doanh số đơn hàng",
                "description": "Dưới 50 triệu: kế toán ghi ngay; từ 50 triệu: quản lý duyệt trước",
                "trigger": {"type": "approval",
                    "submitters": {"owner": true, "roles": ["salesperson"]},
                    "steps": [
                        {"name": "Quản lý duyệt đơn từ 50 triệu",
                         "approvers": [{"type": "submitter_manager"}],
                         "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                             {"field": "Amount", "op": "greater_or_equal", "value": 50000000}]}},
                         "deadline": {"hours": 48, "escalate": true}},
                        {"name": "Kế toán ghi doanh số", "kind": "record",
                         "approvers": [{"type": "user", "user": "${accountant}"}]}],
                    "on_approve": ["tell-recorded"], "on_reject": ["tell-rejected"]},
                "actions": [
                    {"kind": "notification", "id": "tell-recorded", "name": "Báo đã ghi doanh số",
                     "notify_owner": true, "message": "Đơn hàng #Code đã được ghi doanh số"},
                    {"kind": "notification", "id": "tell-rejected", "name": "Báo bị từ chối",
                     "notify_owner": true, "message": "Đơn hàng #Code bị từ chối ghi doanh số"}
                ]
            }),
        },
    ]
}

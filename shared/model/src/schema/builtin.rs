//! The built-in fields of each module, with Vietnamese and English labels.

use super::{FieldDef, FieldKind, Module, PickOption};

fn field(name: &str, vi: &str, en: &str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name: name.into(),
        label_vi: vi.into(),
        label_en: en.into(),
        kind,
        required: false,
        read_only: false,
        custom: false,
    }
}

fn required(mut def: FieldDef) -> FieldDef {
    def.required = true;
    def
}

fn read_only(mut def: FieldDef) -> FieldDef {
    def.read_only = true;
    def
}

fn pick(options: &[(&str, &str, &str)]) -> FieldKind {
    FieldKind::PickList {
        options: options
            .iter()
            .map(|(value, vi, en)| PickOption {
                value: (*value).into(),
                label_vi: (*vi).into(),
                label_en: (*en).into(),
            })
            .collect(),
    }
}

fn reference(module: Module) -> FieldKind {
    FieldKind::Reference { module }
}

/// Owner and audit fields every module carries.
fn common() -> Vec<FieldDef> {
    vec![
        field("Owner", "Chủ sở hữu", "Owner", FieldKind::User),
        read_only(field(
            "CreatedAt",
            "Ngày tạo",
            "Created at",
            FieldKind::DateTime,
        )),
        read_only(field(
            "CreatedBy",
            "Người tạo",
            "Created by",
            FieldKind::User,
        )),
        read_only(field(
            "UpdatedAt",
            "Ngày sửa",
            "Updated at",
            FieldKind::DateTime,
        )),
        read_only(field(
            "UpdatedBy",
            "Người sửa",
            "Updated by",
            FieldKind::User,
        )),
        read_only(field(
            crate::scoring::BREAKDOWN_FIELD,
            "Chi tiết điểm",
            "Score breakdown",
            FieldKind::ScoreBreakdown,
        )),
        read_only(field(
            crate::approval::APPROVAL_FIELD,
            "Đang chờ phê duyệt",
            "Pending approval",
            FieldKind::Approval,
        )),
    ]
}

pub(super) fn fields(module: Module) -> Vec<FieldDef> {
    use FieldKind::*;
    let mut fields = match module {
        Module::Customer => vec![
            required(field("Name", "Tên khách hàng", "Customer name", Text)),
            field("Code", "Mã khách hàng", "Customer code", Text),
            field(
                "CustomerType",
                "Loại khách hàng",
                "Customer type",
                pick(&[
                    ("Individual", "Cá nhân", "Individual"),
                    ("Organization", "Tổ chức", "Organization"),
                ]),
            ),
            field("Phone", "Điện thoại", "Phone", Phone),
            field("Email", "Email", "Email", Email),
            field("TaxCode", "Mã số thuế", "Tax code", Text),
            field("Birthday", "Ngày sinh", "Date of birth", Date),
            field("FoundedDate", "Ngày thành lập", "Founding date", Date),
            field("Address", "Địa chỉ", "Address", Text),
            field("Province", "Tỉnh/Thành phố", "Province", Text),
            field("TimeZone", "Múi giờ", "Time zone", TimeZone),
            field(
                "Source",
                "Nguồn gốc",
                "Source",
                pick(&[
                    ("Website", "Website", "Website"),
                    ("Referral", "Giới thiệu", "Referral"),
                    ("Event", "Sự kiện", "Event"),
                    ("Other", "Khác", "Other"),
                ]),
            ),
            field(
                "Rank",
                "Hạng thẻ",
                "Rank",
                pick(&[
                    ("Member", "Thành viên", "Member"),
                    ("Silver", "Bạc", "Silver"),
                    ("Gold", "Vàng", "Gold"),
                    ("Diamond", "Kim cương", "Diamond"),
                ]),
            ),
            read_only(field(
                "LoyaltyPoints",
                "Điểm tích lũy",
                "Loyalty points",
                Number,
            )),
            read_only(field(
                "RedeemedPoints",
                "Điểm đã đổi",
                "Points redeemed",
                Number,
            )),
            read_only(field(
                "LastPurchaseDate",
                "Ngày mua hàng gần nhất",
                "Last purchase date",
                Date,
            )),
            field(
                "ContractEndDate",
                "Ngày hết hạn hợp đồng",
                "Contract end date",
                Date,
            ),
            field("Description", "Mô tả", "Description", Text),
        ],
        Module::Contact => vec![
            required(field("Name", "Họ và tên", "Full name", Text)),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field("JobTitle", "Chức danh", "Job title", Text),
            field("Phone", "Điện thoại", "Phone", Phone),
            field("Email", "Email", "Email", Email),
            field("Birthday", "Ngày sinh", "Date of birth", Date),
            field("TimeZone", "Múi giờ", "Time zone", TimeZone),
        ],
        Module::Lead => vec![
            required(field("Name", "Họ và tên", "Full name", Text)),
            field("Company", "Tổ chức", "Company", Text),
            field("Phone", "Điện thoại", "Phone", Phone),
            field("Email", "Email", "Email", Email),
            field("Birthday", "Ngày sinh", "Date of birth", Date),
            // Where a lead comes from and where it is: what allocation rules divide leads by.
            field("Province", "Tỉnh/Thành phố", "Province", Text),
            field(
                "Source",
                "Nguồn gốc",
                "Source",
                pick(&[
                    ("Website", "Website", "Website"),
                    ("WebForm", "Biểu mẫu web", "Web form"),
                    ("Import", "Nhập khẩu dữ liệu", "Import"),
                    ("Referral", "Giới thiệu", "Referral"),
                    ("Event", "Sự kiện", "Event"),
                    ("Other", "Khác", "Other"),
                ]),
            ),
            field(
                "Status",
                "Tình trạng",
                "Status",
                pick(&[
                    ("New", "Mới", "New"),
                    ("Contacted", "Đã liên hệ", "Contacted"),
                    ("Qualified", "Đủ điều kiện", "Qualified"),
                    ("Lost", "Thất bại", "Lost"),
                ]),
            ),
        ],
        Module::Opportunity => vec![
            required(field("Name", "Tên cơ hội", "Opportunity name", Text)),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field("Amount", "Giá trị", "Amount", Money),
            field(
                "ExpectedCloseDate",
                "Ngày kỳ vọng",
                "Expected close date",
                Date,
            ),
            field("Probability", "Tỷ lệ thành công", "Probability", Number),
            field(
                "Stage",
                "Giai đoạn",
                "Stage",
                pick(&[
                    ("Prospecting", "Mở đầu", "Prospecting"),
                    ("Proposal", "Đề xuất", "Proposal"),
                    ("Negotiation", "Đàm phán", "Negotiation"),
                    ("Won", "Thành công", "Won"),
                    ("Lost", "Thất bại", "Lost"),
                ]),
            ),
        ],
        Module::Quote => vec![
            required(field("Code", "Số báo giá", "Quote number", Text)),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field("QuoteDate", "Ngày báo giá", "Quote date", Date),
            field("ValidUntil", "Hiệu lực đến", "Valid until", Date),
            field("Amount", "Tổng tiền", "Total", Money),
            field("Discount", "Chiết khấu (%)", "Discount (%)", Number),
        ],
        Module::Order => vec![
            required(field("Code", "Số đơn hàng", "Order number", Text)),
            required(field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            )),
            required(field("OrderDate", "Ngày đặt hàng", "Order date", Date)),
            field("DeliveryDate", "Ngày giao hàng", "Delivery date", Date),
            field("Amount", "Tổng tiền", "Total", Money),
            field("Lines", "Hàng hóa", "Line items", LineItems),
            field("Salesperson", "Nhân viên kinh doanh", "Salesperson", User),
            read_only(field(
                crate::approval::RECORDED_REVENUE,
                "Doanh số đã ghi",
                "Recorded revenue",
                Money,
            )),
            read_only(field(
                crate::approval::RECORDED_BY,
                "Người ghi doanh số",
                "Revenue recorded by",
                User,
            )),
            read_only(field(
                crate::approval::RECORDED_AT,
                "Ngày ghi doanh số",
                "Revenue recorded at",
                DateTime,
            )),
            field(
                "Status",
                "Tình trạng",
                "Status",
                pick(&[
                    ("Draft", "Chưa thực hiện", "Draft"),
                    ("Confirmed", "Đã xác nhận", "Confirmed"),
                    ("Delivered", "Đã giao hàng", "Delivered"),
                    ("Cancelled", "Đã hủy", "Cancelled"),
                ]),
            ),
        ],
        Module::Invoice => vec![
            required(field("Code", "Số hóa đơn", "Invoice number", Text)),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field("Order", "Đơn hàng", "Order", reference(Module::Order)),
            field("InvoiceDate", "Ngày hóa đơn", "Invoice date", Date),
            field("DueDate", "Hạn thanh toán", "Due date", Date),
            field("Amount", "Tổng tiền", "Total", Money),
        ],
        Module::Task => vec![
            required(field("Title", "Tiêu đề", "Title", Text)),
            field("Description", "Mô tả", "Description", Text),
            field("DueAt", "Hạn hoàn thành", "Due", DateTime),
            field(
                "TaskType",
                "Loại nhiệm vụ",
                "Task type",
                pick(&[
                    ("Call", "Gọi điện", "Call"),
                    ("Email", "Gửi email", "Email"),
                    ("Meeting", "Gặp mặt", "Meeting"),
                    ("Care", "Chăm sóc", "Customer care"),
                    ("Other", "Khác", "Other"),
                ]),
            ),
            field(
                "Priority",
                "Mức độ ưu tiên",
                "Priority",
                pick(&[
                    ("High", "Cao", "High"),
                    ("Normal", "Trung bình", "Normal"),
                    ("Low", "Thấp", "Low"),
                ]),
            ),
            field(
                "Status",
                "Tình trạng",
                "Status",
                pick(&[
                    ("Open", "Chưa thực hiện", "Open"),
                    ("InProgress", "Đang thực hiện", "In progress"),
                    ("Done", "Hoàn thành", "Done"),
                ]),
            ),
            field("Assignee", "Người thực hiện", "Assignee", User),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field("RelatedUsers", "Người liên quan", "Related users", Users),
            // The record a workflow made the task for (a lead, an order…): its open activities
            // list the task.
            read_only(field(
                "RelatedModule",
                "Phân hệ liên quan",
                "Related module",
                Text,
            )),
            read_only(field(
                "RelatedRecord",
                "Bản ghi liên quan",
                "Related record",
                Text,
            )),
            read_only(field("Attachments", "Tệp đính kèm", "Attachments", Files)),
        ],
        Module::CareCard => vec![
            required(field("Title", "Tên thẻ", "Card title", Text)),
            field("Order", "Đơn hàng", "Order", reference(Module::Order)),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field("Product", "Sản phẩm", "Product", Text),
            field("ProductCategory", "Nhóm sản phẩm", "Product category", Text),
            field("CareDate", "Ngày chăm sóc", "Care date", Date),
            field("Layout", "Mẫu thẻ", "Layout", Text),
            field(
                "Status",
                "Tình trạng",
                "Status",
                pick(&[
                    ("Open", "Chưa chăm sóc", "Open"),
                    ("Done", "Đã chăm sóc", "Done"),
                ]),
            ),
            field("Notes", "Ghi chú", "Notes", Text),
        ],
        Module::Call => vec![
            required(field("Subject", "Tiêu đề", "Subject", Text)),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field(
                "Contact",
                "Người liên hệ",
                "Contact",
                reference(Module::Contact),
            ),
            field(
                "Direction",
                "Chiều gọi",
                "Direction",
                pick(&[
                    ("Outbound", "Gọi đi", "Outbound"),
                    ("Inbound", "Gọi đến", "Inbound"),
                ]),
            ),
            field(
                "Status",
                "Tình trạng",
                "Status",
                pick(&[
                    ("Planned", "Dự kiến", "Planned"),
                    ("Ringing", "Đang đổ chuông", "Ringing"),
                    ("Answered", "Đang nói chuyện", "Answered"),
                    ("Missed", "Nhỡ", "Missed"),
                    ("Ended", "Đã kết thúc", "Ended"),
                    ("Failed", "Không gọi được", "Could not be placed"),
                ]),
            ),
            field("Phone", "Số điện thoại", "Phone", Phone),
            field("StartedAt", "Bắt đầu lúc", "Started at", DateTime),
            field(
                "DurationSeconds",
                "Thời lượng (giây)",
                "Duration (seconds)",
                Number,
            ),
            field("Recording", "Ghi âm", "Recording", Text),
            field("Description", "Nội dung", "Notes", Text),
            read_only(field(
                "ProviderCallId",
                "Mã cuộc gọi tổng đài",
                "Switchboard call id",
                Text,
            )),
            read_only(field("Switchboard", "Tổng đài", "Switchboard", Text)),
        ],
        Module::Meeting => vec![
            required(field("Subject", "Tiêu đề", "Subject", Text)),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field(
                "Contact",
                "Người liên hệ",
                "Contact",
                reference(Module::Contact),
            ),
            required(field("StartsAt", "Bắt đầu", "Starts at", DateTime)),
            field("EndsAt", "Kết thúc", "Ends at", DateTime),
            field("Location", "Địa điểm", "Location", Text),
            field(
                "Status",
                "Tình trạng",
                "Status",
                pick(&[
                    ("Planned", "Dự kiến", "Planned"),
                    ("Held", "Đã diễn ra", "Held"),
                    ("Cancelled", "Đã huỷ", "Cancelled"),
                ]),
            ),
            field("Attendees", "Người tham dự", "Attendees", Users),
            field("Description", "Nội dung", "Notes", Text),
        ],
        Module::Note => vec![
            required(field("Title", "Tiêu đề", "Title", Text)),
            field(
                "Customer",
                "Khách hàng",
                "Customer",
                reference(Module::Customer),
            ),
            field(
                "Contact",
                "Người liên hệ",
                "Contact",
                reference(Module::Contact),
            ),
            required(field("Content", "Nội dung", "Content", Text)),
        ],
        Module::Message => message_fields(),
    };
    fields.extend(common());
    fields
}

/// A message's fields: all kept by the system, since a message is written by its sending.
fn message_fields() -> Vec<FieldDef> {
    use FieldKind::*;
    [
        required(field(
            "Channel",
            "Kênh",
            "Channel",
            pick(&[("Email", "Email", "Email"), ("Sms", "SMS", "SMS")]),
        )),
        required(field(
            "Direction",
            "Chiều",
            "Direction",
            pick(&[
                ("Outgoing", "Gửi đi", "Outgoing"),
                ("Incoming", "Nhận về", "Incoming"),
            ]),
        )),
        field(
            "Status",
            "Tình trạng",
            "Status",
            pick(&[
                ("Queued", "Đang gửi", "Sending"),
                ("Sent", "Đã gửi", "Sent"),
                ("PartlySent", "Gửi được một phần", "Partly sent"),
                ("Failed", "Gửi lỗi", "Failed"),
                ("Unknown", "Không rõ đã gửi chưa", "Unknown"),
                ("Received", "Đã nhận", "Received"),
            ]),
        ),
        field(
            "Customer",
            "Khách hàng",
            "Customer",
            reference(Module::Customer),
        ),
        field(
            "Contact",
            "Người liên hệ",
            "Contact",
            reference(Module::Contact),
        ),
        field("From", "Từ", "From", Text),
        field("ReplyTo", "Trả lời đến", "Reply to", Text),
        field("To", "Đến", "To", Text),
        field("Cc", "Cc", "Cc", Text),
        field("Bcc", "Bcc", "Bcc", Text),
        field("Subject", "Tiêu đề", "Subject", Text),
        field("Body", "Nội dung", "Body", Text),
        field("Sender", "Cấu hình gửi", "Sending setting", Text),
        field("Template", "Mẫu", "Template", Text),
        field("Segments", "Số tin SMS", "SMS segments", Number),
        field("SentAt", "Gửi lúc", "Sent at", DateTime),
        field("ProviderIds", "Mã nhà cung cấp", "Provider ids", Text),
        field("Error", "Lỗi", "Error", Text),
        field("RequestDigest", "Mã yêu cầu", "Request digest", Text),
        field("MessageId", "Mã thư", "Message-ID", Text),
        field("Attachments", "Tệp đính kèm", "Attachments", Text),
        field("Mailbox", "Hộp thư", "Mailbox", Text),
    ]
    .into_iter()
    .map(read_only)
    .collect()
}

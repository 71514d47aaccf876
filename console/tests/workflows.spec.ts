import { expect, test } from "@playwright/test";
import { Api, devToken, expectEveryInputLabelled, freshTenant, screen, signIn } from "./helpers";

/** A birthday within the preview window, whatever day the test runs. */
function birthdayInDays(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return `1990-${String(d.getUTCMonth() + 1).padStart(2, "0")}-${String(d.getUTCDate()).padStart(2, "0")}`;
}

test("an administrator sets up the birthday workflow from a sample, activates it, previews it and meets the limit", async ({ page, request }) => {
  const tenant = freshTenant("birthday");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  await signIn(page, tenant);

  // Settings → SMS providers → Add: the provider the sample needs.
  await page.getByRole("link", { name: "Thiết lập" }).click();
  await page.getByRole("button", { name: "Thêm" }).click();
  await page.getByLabel("Tên", { exact: true }).fill("Brandname SNS");
  await page.getByLabel("Cổng gửi").selectOption("sns");
  await page.getByLabel("Sender ID").fill("CRMTEST");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByText("Brandname SNS")).toBeVisible();

  // SMS templates → Add, with a merge field from the picker and the segment count.
  await page.getByRole("link", { name: "Mẫu SMS" }).click();
  await page.getByRole("button", { name: "Thêm" }).click();
  await page.getByLabel("Tên", { exact: true }).fill("Chúc mừng sinh nhật");
  await page.getByLabel("Nội dung", { exact: true }).fill("Chuc mung sinh nhat ");
  await page.getByLabel("Chèn trường trộn: Nội dung").selectOption("Name");
  await expect(page.getByLabel("Nội dung", { exact: true })).toHaveValue(/#\{.+\}/);
  await expect(page.getByTestId("sms-segments")).toContainText("1 tin");
  await expectEveryInputLabelled(page);
  await screen(page, "settings-sms-template");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByText("Chúc mừng sinh nhật")).toBeVisible();

  // A customer whose birthday comes within the preview window.
  await api.call("POST", "/records/Customer", { Name: "Nguyễn Văn An", Phone: "0901234567", Birthday: birthdayInDays(3) });

  // Workflows → From a sample → the birthday sample, bindings filled.
  await page.getByRole("link", { name: "Quy trình tự động" }).click();
  await expect(page.getByTestId("active-count")).toHaveText("0 / 10 quy trình đang hoạt động");
  await screen(page, "workflow-list");
  await page.getByRole("link", { name: "Tạo từ mẫu" }).click();
  const card = page.locator(".card", { hasText: "Chúc mừng sinh nhật khách hàng" });
  await card.getByRole("button", { name: "Dùng mẫu này" }).click();
  // Creating without the bindings: each refusal sits next to its field, nothing is lost.
  await page.getByRole("button", { name: "Tạo quy trình" }).click();
  await expect(page.locator(".field.invalid")).toHaveCount(2);
  await page.getByLabel("the brandname SMS provider").selectOption({ label: "Brandname SNS" });
  await page.getByLabel(/SMS template with the greeting/).selectOption({ label: "Chúc mừng sinh nhật" });
  await expectEveryInputLabelled(page);
  await screen(page, "sample-gallery");
  await page.getByRole("button", { name: "Tạo quy trình" }).click();

  // The workflow: activate, then the dry-run preview with the rendered SMS.
  await expect(page.getByTestId("workflow-status")).toHaveText("Nháp");
  await page.getByRole("button", { name: "Kích hoạt" }).click();
  await expect(page.getByTestId("workflow-status")).toHaveText("Đang hoạt động");
  await page.getByRole("button", { name: "Xem trước" }).last().click();
  const preview = page.getByTestId("preview-result");
  await expect(preview).toContainText("Nguyễn Văn An");
  await expect(preview).toContainText("Chuc mung sinh nhat Nguyễn Văn An");
  await screen(page, "workflow-preview");

  // Run history: nothing has run yet for a workflow activated a moment ago.
  await page.getByRole("tab", { name: "Lịch sử chạy" }).click();
  await expect(page.getByTestId("run-history")).toContainText("Chưa có lần chạy nào.");

  // Nine more active care workflows of Customer, then the eleventh is refused in words.
  const definition = (await api.call("GET", "/samples/birthday-sms-and-call")).definition;
  const provider = (await api.call("GET", "/settings/sms-providers")).items[0].id;
  const template = (await api.call("GET", "/settings/sms-templates")).items[0].id;
  for (let i = 2; i <= 10; i++) {
    const created = await api.call("POST", "/samples/birthday-sms-and-call/workflows", {
      name: `Sinh nhật ${i}`,
      bindings: { sms_provider: provider, sms_template: template },
    });
    await api.call("POST", `/workflows/${created.id}/activate`);
  }
  expect(definition.module).toBe("Customer");
  const eleventh = await api.call("POST", "/samples/birthday-sms-and-call/workflows", {
    name: "Sinh nhật 11",
    bindings: { sms_provider: provider, sms_template: template },
  });
  await page.goto(`/#/workflows?module=Customer&kind=care`);
  await expect(page.getByTestId("active-count")).toHaveText("10 / 10 quy trình đang hoạt động");
  await page.getByRole("link", { name: "Sinh nhật 11" }).click();
  await page.getByRole("button", { name: "Kích hoạt" }).click();
  const refusal = page.getByRole("alert");
  await expect(refusal).toContainText("Không thực hiện được lúc này");
  await expect(refusal).toContainText("10");
  await expect(page.getByTestId("workflow-status")).toHaveText("Nháp");
  await screen(page, "workflow-limit");
  expect(eleventh.status).toBe("draft");
});

test("the editor's three steps are reached by keyboard, and a save refused keeps the form and points at the field", async ({ page }) => {
  const tenant = freshTenant("editor");
  await signIn(page, tenant);
  await page.goto("/#/workflows/new?module=Customer&kind=care");
  await page.getByLabel("Tên quy trình").fill("Nhắc gia hạn");
  // Keyboard only: Tab from the description reaches the selected step, the arrow keys move
  // between steps, and Tab goes on into the step's form.
  await page.getByLabel("Mô tả").focus();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("tab", { name: "1. Khi nào" })).toBeFocused();
  await page.keyboard.press("ArrowRight");
  const condition = page.getByRole("tab", { name: "2. Điều kiện" });
  await expect(condition).toHaveAttribute("aria-selected", "true");
  await expect(condition).toBeFocused();
  // The step's form is there once the module's fields are read; then Tab goes into it.
  await expect(page.getByLabel("Tất cả bản ghi")).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Tất cả bản ghi")).toBeFocused();
  await page.getByLabel("Bản ghi thoả điều kiện").check();
  await expect(page.getByLabel("Trường", { exact: true })).toBeVisible();
  await expectEveryInputLabelled(page);
  await condition.focus();
  await page.keyboard.press("End");
  await expect(page.getByRole("tab", { name: "3. Hành động" })).toHaveAttribute("aria-selected", "true");
  await page.getByRole("button", { name: "+ Gửi thông báo" }).click();
  await page.getByLabel("Nội dung", { exact: true }).fill("Sắp đến hạn ");
  await page.getByLabel("Chèn trường trộn: Nội dung").selectOption("Name");
  await expectEveryInputLabelled(page);
  await screen(page, "workflow-editor-actions");
  // No date field chosen: the API refuses at /trigger/date_field; the editor goes back to
  // "When" and shows the message beside the field, with everything typed kept.
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByRole("tab", { name: "1. Khi nào" })).toHaveAttribute("aria-selected", "true");
  await expect(page.locator(".field.invalid", { has: page.getByLabel("Trường ngày") })).toBeVisible();
  await expect(page.getByLabel("Tên quy trình")).toHaveValue("Nhắc gia hạn");
  await page.getByLabel("Trường ngày").selectOption("Birthday");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByTestId("workflow-status")).toHaveText("Nháp");
  await expect(page.getByRole("heading", { name: "Nhắc gia hạn" })).toBeVisible();
});

test("a salesperson is told what the role may not do", async ({ page, request }) => {
  const tenant = freshTenant("roles");
  const admin = new Api(request, devToken(tenant, "u-admin", "admin"));
  await admin.call("POST", "/users", { id: "u-sales", name: "Bình", email: "binh@example.com", role: "salesperson" });
  const created = await admin.call("POST", "/workflows", {
    module: "Customer",
    name: "Ghi chú",
    trigger: { type: "record_event", on: "created" },
    actions: [{ kind: "notification", id: "n", name: "N", message: "Mới", notify_owner: true }],
  });
  await signIn(page, tenant, "u-sales", "sales");
  await page.goto(`/#/workflows/${created.id}`);
  await page.getByRole("button", { name: "Kích hoạt" }).click();
  await expect(page.getByRole("alert")).toContainText("Vai trò của bạn không được phép làm việc này.");
});

test("a scoring rule and an approval workflow are built in screens, saved and activated", async ({ page, request }) => {
  const tenant = freshTenant("rules");
  const admin = new Api(request, devToken(tenant, "u-admin", "admin"));
  await admin.call("POST", "/users", { id: "u-quyen", name: "Quyên", email: "quyen@example.vn", role: "administrator" });
  const current = await admin.call("GET", "/tenant-settings");
  await admin.call(
    "PUT",
    "/tenant-settings",
    { custom_fields: [{ module: "Lead", name: "Score", label_vi: "Điểm", label_en: "Score", kind: { type: "number" } }] },
    { "If-Match": `"${current.revision}"` },
  );
  await signIn(page, tenant);

  // Scoring: the score field, one criterion with its condition; no actions step.
  await page.goto("/#/workflows/new?module=Lead&kind=scoring");
  await page.getByLabel("Tên quy trình").fill("Điểm khách tiềm năng");
  await expect(page.getByRole("tab", { name: "1. Tiêu chí chấm điểm" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("tab", { name: /Hành động/ })).toHaveCount(0);
  await page.getByLabel("Trường lưu điểm").selectOption("Score");
  const criterion = page.getByTestId("criterion");
  await criterion.getByLabel("Tên tiêu chí").fill("Có điện thoại");
  await criterion.getByLabel("Điểm", { exact: true }).fill("15");
  await criterion.getByLabel("Bản ghi thoả điều kiện").check();
  await criterion.getByLabel("Trường", { exact: true }).selectOption("Phone");
  await expectEveryInputLabelled(page);
  await screen(page, "scoring-rule-editor");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByTestId("workflow-status")).toHaveText("Nháp");
  await page.getByRole("button", { name: "Kích hoạt" }).click();
  await expect(page.getByTestId("workflow-status")).toHaveText("Đang hoạt động");

  // Approval: a step decided by a chosen user with a deadline, and an action on approval.
  await page.goto("/#/workflows/new?module=Order&kind=approval");
  await page.getByLabel("Tên quy trình").fill("Duyệt đơn hàng");
  const step = page.getByTestId("approval-step");
  await step.getByLabel("Tên bước").fill("Trưởng phòng duyệt");
  await step.getByLabel("Người duyệt là").selectOption("user");
  await step.getByLabel("Người dùng", { exact: true }).selectOption("u-quyen");
  await step.getByLabel("Có hạn duyệt").check();
  await step.getByLabel("Quá hạn: thêm quản lý của người chưa duyệt").check();
  await expectEveryInputLabelled(page);
  await screen(page, "approval-workflow-editor");
  await page.getByRole("tab", { name: "3. Hành động" }).click();
  await page.getByRole("button", { name: "+ Gửi thông báo" }).click();
  await page.getByLabel("Nội dung", { exact: true }).fill("Đơn hàng đã được duyệt");
  await expect(page.getByLabel("Được duyệt")).toBeChecked();
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByTestId("workflow-status")).toHaveText("Nháp");
  const id = decodeURIComponent(page.url().split("/workflows/")[1]);
  const saved = await admin.call("GET", `/workflows/${id}`);
  expect(saved.definition.trigger.steps[0]).toMatchObject({ name: "Trưởng phòng duyệt", approvers: [{ type: "user", user: "u-quyen" }], deadline: { hours: 24, escalate: true } });
  expect(saved.definition.trigger.on_approve).toEqual([saved.definition.actions[0].id]);
  await page.getByRole("button", { name: "Kích hoạt" }).click();
  await expect(page.getByTestId("workflow-status")).toHaveText("Đang hoạt động");
});

test("every action kind has a form: field updates, hand-over by a rule and Zalo ZNS save as typed", async ({ page, request }) => {
  const tenant = freshTenant("actions");
  const admin = new Api(request, devToken(tenant, "u-admin", "admin"));
  await admin.call("POST", "/users", { id: "u-an", name: "An", email: "an@example.vn", role: "salesperson" });
  await admin.call("POST", "/settings/allocation-rules", { id: "ar-leads", name: "Chia khách tiềm năng", module: "Lead", users: ["u-an"] });
  await admin.call("POST", "/settings/zns-templates", { id: "zns-hello", name: "Chào mừng", zalo_template_id: "231677", parameters: ["customer_name"] });
  await admin.call("POST", "/settings/zns-providers", { id: "zns-oa", name: "OA chính", oa_id: "4321", base_url: "https://zns.example.vn" });
  await signIn(page, tenant);
  await page.goto("/#/workflows/new?module=Lead&kind=work");
  await page.getByLabel("Tên quy trình").fill("Khách tiềm năng mới");
  await page.getByRole("tab", { name: "3. Hành động" }).click();
  await expect(page.getByRole("button", { name: "+ Tạo thẻ chăm sóc" })).toHaveCount(0);

  await page.getByRole("button", { name: "+ Cập nhật trường" }).click();
  await page.getByRole("button", { name: "+ Thêm trường cần gán" }).click();
  await page.getByLabel("Trường", { exact: true }).selectOption("Company");
  await page.getByLabel("Gán bằng").selectOption("merge");
  await page.getByLabel("Giá trị", { exact: true }).fill("Từ #Source");

  await page.getByRole("button", { name: "+ Bàn giao" }).click();
  await page.getByLabel("Bàn giao cho").selectOption("rule:ar-leads");
  await page.getByLabel("Chuyển cả công việc đang mở").check();

  await page.getByRole("button", { name: "+ Gửi ZNS" }).click();
  await page.getByLabel("Mẫu", { exact: true }).last().selectOption("zns-hello");
  await page.getByLabel("Số điện thoại nhận").selectOption("Phone");
  await page.getByLabel("Tham số customer_name", { exact: true }).fill("#Name");
  await expectEveryInputLabelled(page);
  await screen(page, "workflow-editor-more-actions");
  await page.getByRole("button", { name: "Lưu" }).click();
  // No ZNS provider chosen: refused beside it, the rest kept.
  await expect(page.locator(".field.invalid", { has: page.getByLabel("Nhà cung cấp Zalo ZNS") })).toBeVisible();
  await page.getByLabel("Nhà cung cấp Zalo ZNS").selectOption("zns-oa");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByTestId("workflow-status")).toHaveText("Nháp");
  const id = decodeURIComponent(page.url().split("/workflows/")[1]);
  const [update, handover, zns] = (await admin.call("GET", `/workflows/${id}`)).definition.actions;
  expect(update.values).toEqual([{ field: "Company", value: { type: "merge", text: "Từ #Source" } }]);
  expect(handover).toMatchObject({ kind: "handover", to: { type: "allocation_rule", rule: "ar-leads" }, move_open_activities: ["task"] });
  expect(zns).toMatchObject({ kind: "zns", provider: "zns-oa", template: "zns-hello", recipient_field: { field: "Phone" }, parameters: { customer_name: "#Name" } });
});

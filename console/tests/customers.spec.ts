import { expect, test } from "@playwright/test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Api, devToken, expectEveryInputLabelled, freshTenant, screen, signIn } from "./helpers";

test("a customer is created, quick-edited, and a stale full edit is refused without losing what was typed", async ({ page, request }) => {
  const tenant = freshTenant("customer");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  await signIn(page, tenant);
  await page.getByRole("link", { name: "Khách hàng" }).click();
  await page.getByLabel("Tên khách hàng").fill("Trần Thị Bình");
  await page.getByLabel("Điện thoại").fill("0912345678");
  await page.getByRole("button", { name: "Tạo" }).click();
  await expect(page.getByRole("heading", { name: "Trần Thị Bình" })).toBeVisible();
  const id = decodeURIComponent(page.url().split("/customers/")[1]);

  // Quick edit of one field, in place.
  await page.getByRole("button", { name: "Sửa nhanh Email" }).click();
  await page.locator("#quick-Email").fill("binh@example.com");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByTestId("record-summary")).toContainText("binh@example.com");
  await screen(page, "customer-page");

  // Full edit opened, then someone else changes the customer: the save is refused (412).
  await page.getByRole("button", { name: "Sửa", exact: true }).click();
  await expectEveryInputLabelled(page);
  await page.getByLabel("Tên khách hàng").fill("Trần Thị Bình (VIP)");
  await api.call("PATCH", `/records/Customer/${id}`, { Phone: "0987654321" });
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByRole("alert")).toContainText("Người khác đã thay đổi mục này");
  await expect(page.getByLabel("Tên khách hàng")).toHaveValue("Trần Thị Bình (VIP)");
  await screen(page, "customer-stale-edit");
  // Reload brings the other person's change into the fields this user left alone and keeps
  // the one they typed; saving again goes through with both.
  await page.getByRole("button", { name: "Tải lại" }).click();
  await expect(page.getByLabel("Điện thoại")).toHaveValue("0987654321");
  await expect(page.getByLabel("Tên khách hàng")).toHaveValue("Trần Thị Bình (VIP)");
  await page.getByRole("button", { name: "Lưu" }).click();
  const summary = page.getByTestId("record-summary");
  await expect(summary).toContainText("Trần Thị Bình (VIP)");
  await expect(summary).toContainText("0987654321");
});

test("duplicates are shown side by side and merged; a customer with orders cannot be deleted and says why", async ({ page, request }) => {
  const tenant = freshTenant("merge");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  const survivor = await api.call("POST", "/records/Customer", { Name: "Lê Văn Cường", Phone: "0903333333" });
  const duplicate = await api.call("POST", "/records/Customer", { Name: "Cường Lê", Phone: "0903333333", Email: "cuong@example.com" });
  await api.call("POST", `/customers/${duplicate.id}/orders`, { Amount: 1_500_000 });
  await signIn(page, tenant);

  // The duplicate has an order: deleting it is refused with the reason.
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(`/#/customers/${duplicate.id}`);
  await page.getByRole("button", { name: "Xoá" }).click();
  await expect(page.getByRole("alert")).toContainText("order");

  // The survivor's duplicates tab: the two side by side, then the merge.
  await page.goto(`/#/customers/${survivor.id}`);
  await page.getByRole("tab", { name: "Trùng lặp" }).click();
  await page.getByRole("button", { name: "Cường Lê" }).click();
  const table = page.locator("table.side-by-side");
  await expect(table).toContainText("cuong@example.com");
  // The name differs: the user keeps the duplicate's, field by field.
  await expect(page.getByLabel("Tên khách hàng: Khách hàng này (giữ lại)")).toBeChecked();
  await page.getByLabel("Tên khách hàng: Bản trùng (sẽ xoá)").check();
  await expect(table.locator("tr", { hasText: "Tên khách hàng" }).locator("td").last()).toHaveText("Cường Lê");
  await expectEveryInputLabelled(page);
  await screen(page, "customer-merge");
  await page.getByRole("button", { name: "Gộp vào khách hàng này" }).click();
  await expect(page.getByRole("status")).toContainText("Đã gộp");
  await expect(page.getByTestId("record-summary")).toContainText("cuong@example.com");
  await expect(page.getByRole("heading", { name: "Cường Lê" })).toBeVisible();
  // The order moved with the merge: the sales tab lists it.
  await page.getByRole("tab", { name: "Bán hàng" }).click();
  await expect(page.getByRole("tabpanel")).toContainText("1.500.000");
});

test("the console switches to English and back", async ({ page }) => {
  await signIn(page, freshTenant("lang"));
  await page.getByRole("button", { name: "English" }).click();
  await expect(page.getByRole("link", { name: "Workflows" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await page.getByRole("button", { name: "Tiếng Việt" }).click();
  await expect(page.getByRole("link", { name: "Quy trình tự động" })).toBeVisible();
});

test("on a phone-sized screen the customer page stays usable", async ({ page, request }) => {
  const tenant = freshTenant("phone");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  const customer = await api.call("POST", "/records/Customer", { Name: "Phạm Dũng", Phone: "0904444444" });
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, tenant);
  await page.goto(`/#/customers/${customer.id}`);
  await expect(page.getByRole("heading", { name: "Phạm Dũng" })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await screen(page, "customer-page-phone");
});

test("an administrator adds a salesperson with a manager, and a bad email is pointed at", async ({ page }) => {
  await signIn(page, freshTenant("users"));
  await page.getByRole("link", { name: "Thiết lập" }).click();
  await page.getByRole("link", { name: "Người dùng" }).click();
  await page.getByRole("button", { name: "Thêm người dùng" }).click();
  await page.getByLabel("Mã đăng nhập (sub)").fill("u-lan");
  await page.getByLabel("Họ tên").fill("Lan");
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Quản lý trực tiếp").selectOption("u-admin");
  await expectEveryInputLabelled(page);
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.locator(".field.invalid", { has: page.getByLabel("Email") })).toBeVisible();
  await expect(page.getByLabel("Họ tên")).toHaveValue("Lan");
  await page.getByLabel("Email").fill("lan@example.com");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByRole("cell", { name: /Lan/ })).toBeVisible();
  await screen(page, "settings-users");
});

test("calls, meetings and notes are logged on the customer's timeline, a missing field shown beside it", async ({ page, request }) => {
  const tenant = freshTenant("timeline");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  const customer = await api.call("POST", "/records/Customer", { Name: "Phan Thị Hoa" });
  await api.call("POST", "/records/Task", { Title: "Gửi báo giá", Customer: customer.id, Status: "Open" });
  await signIn(page, tenant);
  await page.goto(`/#/customers/${customer.id}`);
  const timeline = page.getByTestId("activities");
  await expect(timeline).toContainText("Gửi báo giá");

  await page.getByRole("button", { name: "+ Ghi cuộc gọi" }).click();
  const call = page.getByRole("form", { name: "Ghi cuộc gọi" });
  await call.getByLabel("Tiêu đề").fill("Tư vấn trà sen");
  await call.getByLabel("Chiều gọi").selectOption("Outbound");
  await call.getByLabel("Bắt đầu lúc").fill("2026-05-20T09:00");
  await call.getByLabel("Thời lượng (giây)").fill("180");
  await expectEveryInputLabelled(page);
  await call.getByRole("button", { name: "Lưu" }).click();
  await expect(timeline.locator("li[data-module='Call']")).toContainText("Tư vấn trà sen");

  await page.getByRole("button", { name: "+ Thêm ghi chú" }).click();
  const note = page.getByRole("form", { name: "Thêm ghi chú" });
  await note.getByLabel("Tiêu đề").fill("Sở thích");
  await note.getByRole("button", { name: "Lưu" }).click();
  await expect(note.locator(".field.invalid", { has: page.getByLabel("Nội dung") })).toBeVisible();
  await note.getByLabel("Nội dung").fill("Thích trà sen, gọi buổi sáng");
  await note.getByRole("button", { name: "Lưu" }).click();
  await expect(timeline.locator("li[data-module='Note']")).toContainText("Thích trà sen");
  // Newest first: the note made now above the task, the May call last.
  await expect(timeline.locator("li").first()).toHaveAttribute("data-module", "Note");
  await expect(timeline.locator("li").last()).toHaveAttribute("data-module", "Call");
  await screen(page, "customer-timeline");
});

test("loyalty points are redeemed against an order once, and more than the balance is refused in words", async ({ page, request }) => {
  const tenant = freshTenant("loyalty");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  const current = await api.call("GET", "/tenant-settings");
  await api.call("PUT", "/tenant-settings", { loyalty: { amount_per_point: 100000, tiers: [{ rank: "Member", min_points: 0 }, { rank: "Silver", min_points: 20 }] } }, { "If-Match": `"${current.revision}"` });
  const customer = await api.call("POST", "/records/Customer", { Name: "Võ Thị Mai" });
  const order = await api.call("POST", `/customers/${customer.id}/orders`, { OrderDate: "2026-03-01", Amount: 2_500_000 });
  await signIn(page, tenant);
  await page.goto(`/#/customers/${customer.id}`);
  await page.getByRole("tab", { name: "Điểm thưởng" }).click();
  const panel = page.getByTestId("loyalty");
  await expect(panel).toContainText("Có thể dùng 25 điểm");
  const form = page.getByRole("form", { name: "Đổi điểm" });
  await form.getByLabel("Đơn hàng").selectOption(order.id);
  await form.getByLabel("Số điểm").fill("10");
  await expectEveryInputLabelled(page);
  await form.getByRole("button", { name: "Đổi điểm" }).dblclick();
  await expect(page.getByRole("status")).toContainText("còn 15 điểm");
  // The rank follows the points earned: spending them does not lower it.
  await expect(panel).toContainText("Có thể dùng 15 điểm · đã đổi 10 điểm · hạng Silver");
  const ledger = (await api.call("GET", `/customers/${customer.id}/loyalty`)).redemptions;
  expect(ledger).toHaveLength(1);
  await form.getByLabel("Số điểm").fill("16");
  await form.getByRole("button", { name: "Đổi điểm" }).click();
  await expect(form.getByRole("alert")).toContainText("15");
  await screen(page, "customer-loyalty");
});

test("an email and an SMS are written from the customer page to its contacts, sent once, and refusals are shown beside the field", async ({ page, request }) => {
  const tenant = freshTenant("messages");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  await api.call("POST", "/settings/email-senders", { id: "mailer", name: "CSKH", from_address: "noreply@example.com", from_name: "Chăm sóc khách hàng" });
  await api.call("POST", "/settings/email-templates", { id: "hello", name: "Lời chào", module: "Customer", subject: "Chào #Name", html_body: "<p>Kính gửi #Name</p>" });
  await api.call("POST", "/settings/sms-providers", { id: "sns", name: "SNS", gateway: { type: "sns", sender_id: "CRM" } });
  const customer = await api.call("POST", "/records/Customer", { Name: "Phạm Thu Hà", Email: "ha@example.vn", Phone: "0912345678" });
  await api.call("POST", "/records/Contact", { Name: "Lê Minh", Customer: customer.id, Email: "minh@example.vn" });
  await signIn(page, tenant);
  await page.goto(`/#/customers/${customer.id}`);
  await page.getByRole("tab", { name: "Email & SMS" }).click();
  const form = page.getByRole("form", { name: "Soạn email / SMS" });
  await form.getByLabel("Gửi qua địa chỉ").selectOption("mailer");
  await form.getByLabel("Lê Minh <minh@example.vn>").check();
  await form.getByLabel("Mẫu").selectOption("hello");
  await expect(form.getByLabel("Tiêu đề")).toHaveValue("Chào #Name");
  await expectEveryInputLabelled(page);
  await form.getByRole("button", { name: "Gửi", exact: true }).dblclick();
  await expect(page.getByRole("status")).toContainText("Đã xếp vào hàng gửi");
  const history = page.getByTestId("messages");
  await expect(history.locator("li")).toHaveCount(1);
  await expect(history.locator("li").first()).toContainText("Chào Phạm Thu Hà");
  const sent = (await api.call("GET", `/customers/${customer.id}/messages`)).items;
  expect(sent).toHaveLength(1);
  expect(sent[0].fields.To).toBe("minh@example.vn");

  // An SMS counts its segments before sending; one without a provider is refused beside it.
  await form.getByLabel("SMS", { exact: true }).check();
  await form.getByLabel("Phạm Thu Hà <0912345678>").check();
  await form.getByLabel(/Nội dung tin nhắn/).fill("Chào #Name, cảm ơn chị đã ghé cửa hàng.");
  await expect(page.getByTestId("segments")).toContainText("khoảng 1 tin");
  await form.getByRole("button", { name: "Gửi", exact: true }).click();
  await expect(form.locator(".field.invalid")).toContainText("Nhà cung cấp SMS");
  await form.getByLabel("Nhà cung cấp SMS").selectOption("sns");
  await form.getByRole("button", { name: "Gửi", exact: true }).click();
  await expect(history.locator("li")).toHaveCount(2);
  await screen(page, "customer-messages");
  // The contact filter keeps the email to Lê Minh.
  await page.getByLabel("Người liên hệ", { exact: true }).selectOption({ label: "Lê Minh" });
  await expect(history.locator("li")).toHaveCount(1);
});

test("a switchboard is set up with a user's extension and the customer is called through it once", async ({ page, request }) => {
  const tenant = freshTenant("calls");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  await api.call("POST", "/users", { id: "u-lan", name: "Lan", email: "lan@example.vn", role: "administrator" });
  // A switchboard on loopback that places every call it is asked for.
  const asked: { auth?: string; body: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      asked.push({ auth: req.headers.authorization, body: JSON.parse(body) });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ call_id: `pbx-${asked.length}` }));
    });
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const { port } = server.address() as AddressInfo;
  try {
    await signIn(page, tenant, "u-lan");
    await page.goto("/#/settings/voip-providers");
    await page.getByRole("button", { name: "Thêm" }).click();
    await page.getByLabel("Tên", { exact: true }).fill("Tổng đài chính");
    await page.getByLabel("Địa chỉ API (https)").fill(`http://127.0.0.1:${port}`);
    await page.getByLabel("Lan", { exact: true }).fill("10a");
    await page.getByRole("button", { name: "Lưu" }).click();
    // Not digits: refused beside the user's extension.
    await expect(page.locator(".field.invalid", { has: page.getByLabel("Lan", { exact: true }) })).toBeVisible();
    await page.getByLabel("Lan", { exact: true }).fill("101");
    await expectEveryInputLabelled(page);
    await page.getByRole("button", { name: "Lưu" }).click();
    await expect(page.getByRole("listitem").filter({ hasText: "Tổng đài chính" })).toBeVisible();
    const [switchboard] = (await api.call("GET", "/settings/voip-providers")).items;
    expect(switchboard.extensions).toEqual({ "u-lan": "101" });
    await api.call("PUT", `/settings/voip-providers/${switchboard.id}/credentials`, { api_key: "pbx-key", secret_key: "pbx-secret-of-at-least-thirty-two-chars" });

    const customer = await api.call("POST", "/records/Customer", { Name: "Vũ Thị Hoa", Phone: "0912345678" });
    await page.goto(`/#/customers/${customer.id}`);
    const call = page.getByRole("form", { name: "Gọi qua tổng đài" });
    await call.getByRole("button", { name: "Gọi qua tổng đài" }).dblclick();
    await expect(page.getByRole("status")).toContainText("đang đổ chuông máy lẻ");
    expect(asked).toHaveLength(1);
    expect(asked[0].auth).toBe("Bearer pbx-key");
    expect(asked[0].body).toMatchObject({ extension: "101", phone: "+84912345678" });
    await expect(page.getByTestId("activities")).toContainText("Gọi Vũ Thị Hoa");
    await screen(page, "customer-call");
  } finally {
    server.close();
  }
});

test("a user lays out their customer page: the summary card's fields and the related lists with their columns", async ({ page, request }) => {
  const tenant = freshTenant("layout");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  const customer = await api.call("POST", "/records/Customer", { Name: "Hồ Minh", Phone: "0912345678", Email: "minh@example.vn" });
  await api.call("POST", `/customers/${customer.id}/orders`, { Code: "DH-7", OrderDate: "2026-03-01", Amount: 1_200_000 });
  await signIn(page, tenant);
  await page.goto(`/#/customers/${customer.id}`);
  await page.getByRole("tab", { name: "Danh sách liên quan" }).click();
  await page.getByRole("button", { name: "Tuỳ chỉnh trang khách hàng" }).click();
  const form = page.getByRole("form", { name: "Tuỳ chỉnh trang khách hàng" });
  const card = form.getByRole("group", { name: "Các trường ở thẻ tóm tắt" });
  await card.getByRole("checkbox", { name: "Tên khách hàng" }).check();
  await card.getByRole("checkbox", { name: "Điện thoại" }).check();
  for (const list of ["Liên hệ", "Cơ hội", "Báo giá", "Hoá đơn", "Nhiệm vụ", "Thẻ chăm sóc"]) {
    await form.getByRole("button", { name: new RegExp(`^Ẩn ${list}`) }).click();
  }
  const orders = form.locator("fieldset[data-list=orders]");
  for (const column of ["Ngày đặt hàng", "Tình trạng"]) {
    const box = orders.getByRole("checkbox", { name: column, exact: true });
    if (await box.isChecked()) await box.uncheck();
  }
  await expectEveryInputLabelled(page);
  await form.getByRole("button", { name: "Lưu" }).click();
  const related = page.getByTestId("related");
  await expect(related.locator("table")).toHaveCount(1);
  await expect(related.locator("th")).toHaveText(["Số đơn hàng", "Tổng tiền"]);
  await expect(related.locator("td").first()).toHaveText("DH-7");
  const summary = page.getByTestId("record-summary");
  await expect(summary.locator("dt")).toHaveText(["Tên khách hàng", "Điện thoại"]);
  await screen(page, "customer-layout");
  const saved = await api.call("GET", "/me/customer-page");
  expect(saved.related).toEqual([{ list: "orders", columns: ["Code", "Amount"] }]);
});

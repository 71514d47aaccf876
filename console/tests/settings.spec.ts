import { expect, test } from "@playwright/test";
import { Api, devToken, expectEveryInputLabelled, freshTenant, screen, signIn } from "./helpers";

test("an email template shows a chosen customer's message live, and a wrong merge field in words", async ({ page, request }) => {
  const tenant = freshTenant("template");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  await api.call("POST", "/users", { id: "u-lan", name: "Phạm Lan", email: "lan@example.vn", role: "salesperson" });
  await api.call("POST", "/records/Customer", { Name: "Lê Văn <Tâm>", Birthday: "1990-03-08", Owner: "u-lan" });
  await signIn(page, tenant);
  await page.goto("/#/settings/email-templates");
  await page.getByRole("button", { name: "Thêm" }).click();
  await page.getByLabel("Tên", { exact: true }).fill("Chúc mừng sinh nhật");
  await page.getByLabel("Tiêu đề", { exact: true }).fill("Chúc mừng ");
  await page.getByLabel("Chèn trường trộn: Tiêu đề").selectOption("Name");
  await page
    .getByLabel("Nội dung (HTML)", { exact: true })
    .fill("<p>Ngày sinh: #Birthday, phụ trách: #Owner</p><script>document.body.dataset.ran = 'yes'</script>");
  const preview = page.getByRole("complementary", { name: "Xem trước với dữ liệu thật" });
  await expect(preview.getByTestId("merge-preview").first()).toContainText("Chúc mừng Lê Văn <Tâm>");
  // The body is rendered as HTML, its values escaped, in a frame that runs nothing.
  const body = page.frameLocator("iframe[title='Nội dung (HTML)']");
  await expect(body.locator("p")).toHaveText("Ngày sinh: 08/03/1990, phụ trách: Phạm Lan");
  await expect(body.locator("body")).not.toHaveAttribute("data-ran", "yes");
  await expectEveryInputLabelled(page);
  await screen(page, "template-live-preview");
  await page.getByLabel("Tiêu đề", { exact: true }).fill("Chào #Nmae");
  await expect(preview).toContainText("'Nmae'");
  // Saving it is refused at the subject, with everything typed kept.
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.locator(".field.invalid", { has: page.getByLabel("Tiêu đề", { exact: true }) })).toBeVisible();
  await page.getByLabel("Tiêu đề", { exact: true }).fill("Chào #Name");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByRole("listitem").filter({ hasText: "Chúc mừng sinh nhật" })).toBeVisible();
});

test("an allocation rule is built in screens, refused until complete, and its dry run names who gets each lead", async ({ page, request }) => {
  const tenant = freshTenant("allocation");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  await api.call("POST", "/users", { id: "u-an", name: "An", email: "an@example.vn", role: "salesperson" });
  await api.call("POST", "/users", { id: "u-binh", name: "Bình", email: "binh@example.vn", role: "salesperson" });
  await api.call("POST", "/records/Lead", { Name: "Khách 1" });
  await api.call("POST", "/records/Lead", { Name: "Khách 2" });
  await signIn(page, tenant);
  await page.goto("/#/settings/allocation-rules");
  await page.getByRole("button", { name: "Thêm" }).click();
  await page.getByRole("form", { name: "Thêm" }).getByLabel("Phân hệ", { exact: true }).selectOption("Lead");
  // Neither a name nor users: both refused at once, beside their fields.
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.locator(".field.invalid", { has: page.getByLabel("Tên", { exact: true }) })).toBeVisible();
  await page.getByLabel("Tên", { exact: true }).fill("Chia đều khách tiềm năng");
  // Weighted chosen before the users: each user chosen then gets a weight, in their order.
  await page.getByLabel("Cách chia").selectOption("weighted");
  await page.getByLabel("Người nhận lần lượt").selectOption(["u-an", "u-binh"]);
  await page.getByLabel("Bình", { exact: true }).fill("3");
  await page.getByLabel("Tự phân bổ bản ghi mới").check();
  await expectEveryInputLabelled(page);
  await screen(page, "allocation-rule");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByRole("listitem").filter({ hasText: "Chia đều khách tiềm năng" })).toBeVisible();
  const [rule] = (await api.call("GET", "/settings/allocation-rules")).items;
  expect(rule.strategy).toEqual({ type: "weighted", weights: [{ user: "u-an", weight: 1 }, { user: "u-binh", weight: 3 }] });
  expect(rule.on_create).toBe(true);

  await page.getByRole("button", { name: "Xem trước" }).click();
  const dryRun = page.getByTestId("allocation-preview");
  await expect(dryRun.getByRole("row")).toHaveCount(3);
  await expect(dryRun).toContainText("Chia đều khách tiềm năng");
  await expect(dryRun).toContainText(/An|Bình/);
});

test("the company's settings take a custom pick list and refuse an unknown country beside its field", async ({ page, request }) => {
  const tenant = freshTenant("company");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  await signIn(page, tenant);
  await page.goto("/#/settings/tenant");
  await page.getByRole("button", { name: "+ Thêm trường" }).click();
  const field = page.getByTestId("custom-field");
  await field.getByLabel("Tên kỹ thuật").fill("Segment");
  await field.getByLabel("Nhãn tiếng Việt").first().fill("Phân khúc");
  await field.getByLabel("Nhãn tiếng Anh").first().fill("Segment");
  await field.getByLabel("Kiểu dữ liệu").selectOption("pick_list");
  await field.getByLabel("Giá trị").fill("vip");
  await field.getByLabel("Nhãn tiếng Việt").nth(1).fill("Khách VIP");
  await field.getByLabel("Nhãn tiếng Anh").nth(1).fill("VIP");
  const countries = page.getByLabel("Quốc gia được nhắn SMS/ZNS");
  await countries.fill("");
  await countries.pressSequentially("vn, xx");
  await expect(countries).toHaveValue("vn, xx");
  await page.getByLabel("Tích điểm cho khách hàng").check();
  await expectEveryInputLabelled(page);
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.locator(".field.invalid", { has: page.getByLabel("Quốc gia được nhắn SMS/ZNS") })).toBeVisible();
  await expect(field.getByLabel("Tên kỹ thuật")).toHaveValue("Segment");
  await page.getByLabel("Quốc gia được nhắn SMS/ZNS").fill("VN, SG");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByRole("status")).toHaveText("Đã lưu.");
  await screen(page, "company-settings");
  const saved = await api.call("GET", "/tenant-settings");
  expect(saved.message_countries).toEqual(["VN", "SG"]);
  expect(saved.loyalty.amount_per_point).toBe(100000);
  // The new field is on the customer's edit form at once, as a pick list.
  const customer = await api.call("POST", "/records/Customer", { Name: "Đỗ Minh" });
  await page.goto(`/#/customers/${customer.id}`);
  await page.getByRole("button", { name: "Sửa", exact: true }).click();
  await expect(page.getByLabel("Phân khúc").locator("option", { hasText: "Khách VIP" })).toHaveCount(1);
});

test("the company chooses what makes customers duplicates, names without accents included", async ({ page, request }) => {
  const tenant = freshTenant("duplicates");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  const first = await api.call("POST", "/records/Customer", { Name: "Nguyễn Thị Hằng", Phone: "0912345678" });
  await api.call("POST", "/records/Customer", { Name: "nguyen thi hang", Phone: "0987654321" });
  await signIn(page, tenant);
  await page.goto("/#/settings/tenant");
  await page.getByRole("checkbox", { name: "Tên không dấu (Nguyễn = Nguyen)" }).check();
  await page.getByRole("checkbox", { name: "Số điện thoại (mọi cách viết)" }).uncheck();
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByRole("status")).toHaveText("Đã lưu.");
  const saved = await api.call("GET", "/tenant-settings");
  expect(saved.duplicate_keys).toEqual(["email", "tax_code", "name_unaccented"]);
  const found = await api.call("GET", `/customers/${first.id}/duplicates`);
  expect(found.items.map((d: { fields: { Name: string }; shared: string[] }) => [d.fields.Name, d.shared])).toEqual([["nguyen thi hang", ["name_unaccented"]]]);
});

test("a user's mailbox is connected in screens, an inside address refused at its host, and its sync shown", async ({ page, request }) => {
  const tenant = freshTenant("mailbox");
  const api = new Api(request, devToken(tenant, "u-admin", "admin"));
  await api.call("POST", "/users", { id: "u-lan", name: "Phạm Lan", email: "lan@example.vn", role: "salesperson" });
  await signIn(page, tenant);
  await page.goto("/#/settings/mailboxes");
  await page.getByRole("button", { name: "Thêm" }).click();
  await page.getByLabel("Tên", { exact: true }).fill("Gmail của Lan");
  await page.getByLabel("Hộp thư của").selectOption("u-lan");
  await page.getByLabel("Máy chủ IMAP").fill("10.0.0.5");
  await page.getByLabel("Tên đăng nhập").fill("lan@example.vn");
  await page.getByLabel("Cách đăng nhập").selectOption("oauth2");
  await page.getByLabel("Địa chỉ cấp token (OAuth2)").fill("https://oauth2.googleapis.com/token");
  await page.getByLabel("Thư mục thư đã gửi").fill("[Gmail]/Sent Mail");
  await expectEveryInputLabelled(page);
  await page.getByRole("button", { name: "Lưu" }).click();
  // An address inside the deployment's network: refused beside the host, the rest kept.
  await expect(page.locator(".field.invalid", { has: page.getByLabel("Máy chủ IMAP") })).toBeVisible();
  await expect(page.getByLabel("Tên đăng nhập")).toHaveValue("lan@example.vn");
  await page.getByLabel("Máy chủ IMAP").fill("imap.gmail.com");
  await page.getByRole("button", { name: "Lưu" }).click();
  const item = page.getByRole("listitem").filter({ hasText: "Gmail của Lan" });
  await expect(item).toBeVisible();
  const [mailbox] = (await api.call("GET", "/settings/mailboxes")).items;
  expect(mailbox).toMatchObject({ user: "u-lan", host: "imap.gmail.com", port: 993, auth: "oauth2", token_url: "https://oauth2.googleapis.com/token", inbox: "INBOX", sent: "[Gmail]/Sent Mail" });
  await expect(page.getByTestId(`mailbox-sync-${mailbox.id}`)).toContainText("Chưa đồng bộ lần nào");
  // An OAuth2 mailbox with its token endpoint asks for the refresh token and the client.
  await item.getByRole("button", { name: "Thông tin xác thực" }).click();
  for (const label of ["Refresh token", "Client ID", "Client secret"]) await expect(page.getByLabel(label)).toBeVisible();
  await expect(page.getByLabel("Mật khẩu")).toHaveCount(0);
  await page.getByLabel("Refresh token").fill("1//0g-refresh");
  await page.getByLabel("Client ID").fill("crm.apps.googleusercontent.com");
  await page.getByLabel("Client secret").fill("GOCSPX-secret");
  await page.getByRole("button", { name: "Lưu thông tin xác thực" }).click();
  await expect(page.getByText(/Đã thiết lập/)).toBeVisible();
  await screen(page, "settings-mailbox");
});

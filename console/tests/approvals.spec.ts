import { expect, test } from "@playwright/test";
import { Api, devToken, expectEveryInputLabelled, freshTenant, screen, signIn } from "./helpers";

test("a salesperson sends a customer for approval, the manager approves it from their inbox, and the record is free again", async ({ page, request }) => {
  const tenant = freshTenant("approval");
  const admin = new Api(request, devToken(tenant, "u-admin", "admin"));
  await admin.call("POST", "/users", { id: "u-sales", name: "Bình", email: "binh@example.com", role: "salesperson" });
  await admin.call("POST", "/users", { id: "u-boss", name: "Chi", email: "chi@example.com", role: "salesperson" });
  const workflow = await admin.call("POST", "/workflows", {
    module: "Customer",
    name: "Duyệt khách hàng lớn",
    trigger: {
      type: "approval",
      submitters: { owner: true },
      steps: [{ name: "Trưởng phòng duyệt", approvers: [{ type: "user", user: "u-boss" }], decide: "first" }],
      on_approve: ["tell"],
    },
    actions: [{ kind: "notification", id: "tell", name: "Báo", message: "Đã duyệt #Name", notify_owner: true }],
  });
  await admin.call("POST", `/workflows/${workflow.id}/activate`);
  const sales = new Api(request, devToken(tenant, "u-sales", "sales"));
  const customer = await sales.call("POST", "/records/Customer", { Name: "Công ty Sao Mai", Phone: "0905555555" });

  // The salesperson (the owner) sends it; the record shows the lock.
  await signIn(page, tenant, "u-sales", "sales");
  await page.goto(`/#/customers/${customer.id}`);
  await page.getByRole("tab", { name: "Phê duyệt" }).click();
  await page.getByLabel("Ghi chú").fill("Khách hàng chiến lược");
  await page.getByRole("button", { name: "Gửi phê duyệt" }).click();
  const panel = page.getByTestId("approvals");
  await expect(panel.getByRole("status")).toContainText("Đang chờ phê duyệt (Duyệt khách hàng lớn)");
  await expect(panel).toContainText("Khách hàng chiến lược");
  await screen(page, "customer-approval-pending");
  // A quick edit of a waiting record is refused with the reason (409).
  await page.getByRole("button", { name: "Sửa nhanh Email" }).click();
  await page.locator("#quick-Email").fill("saomai@example.com");
  await page.getByRole("button", { name: "Lưu" }).click();
  await expect(page.getByRole("alert").first()).toContainText("Không thực hiện được lúc này");

  // The manager's inbox: approve with a comment.
  await page.getByRole("button", { name: "Đăng xuất" }).click();
  await signIn(page, tenant, "u-boss", "sales");
  await page.getByRole("link", { name: "Phê duyệt của tôi" }).click();
  const pending = page.getByTestId("pending-approval");
  await expect(pending).toContainText("Trưởng phòng duyệt");
  await expectEveryInputLabelled(page);
  await screen(page, "my-approvals");
  await pending.getByLabel("Ghi chú").fill("Đồng ý");
  await pending.getByRole("button", { name: "Duyệt" }).click();
  await expect(page.getByText("Không có gì chờ bạn phê duyệt.")).toBeVisible();

  // Back on the customer, as its owner (the manager does not see the salesperson's customers):
  // approved, with the history, and no lock.
  await page.getByRole("button", { name: "Đăng xuất" }).click();
  await signIn(page, tenant, "u-sales", "sales");
  await page.goto(`/#/customers/${customer.id}`);
  await page.getByRole("tab", { name: "Phê duyệt" }).click();
  await expect(panel).toContainText("Đã duyệt");
  await expect(panel).toContainText("Đồng ý");
  await expect(panel.getByRole("button", { name: "Gửi phê duyệt" })).toBeVisible();
});

test("a customer is handed over with its open tasks, and its automation tab says when nothing is coming", async ({ page, request }) => {
  const tenant = freshTenant("handover");
  const admin = new Api(request, devToken(tenant, "u-admin", "admin"));
  await admin.call("POST", "/users", { id: "u-new", name: "Dung", email: "dung@example.com", role: "salesperson" });
  const customer = await admin.call("POST", "/records/Customer", { Name: "Hộ kinh doanh Minh Phát", Phone: "0906666666" });
  await admin.call("POST", "/records/Task", { Title: "Gọi lại", Customer: customer.id, Owner: "u-admin" });
  await admin.call("POST", "/records/Meeting", { Subject: "Giới thiệu", Customer: customer.id, StartsAt: "2099-01-05T09:00:00+07:00", Owner: "u-admin" });
  await signIn(page, tenant);
  await page.goto(`/#/customers/${customer.id}`);
  await page.getByRole("tab", { name: "Tự động hoá" }).click();
  await expect(page.getByTestId("upcoming")).toContainText("Không có lần chạy nào đang chờ");
  await page.getByRole("tab", { name: "Bàn giao" }).click();
  await page.getByLabel("Bàn giao cho").selectOption({ label: "Dung" });
  await page.getByLabel("Chuyển cả cuộc họp sắp tới").check();
  await expectEveryInputLabelled(page);
  await page.getByRole("button", { name: "Bàn giao", exact: true }).click();
  await expect(page.getByRole("status")).toContainText("2 hoạt động");
  await expect(page.getByTestId("record-summary")).toContainText("u-new");
});

import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";

/** A tenant of its own per test file and run: runs never see each other's records. */
export function freshTenant(name: string): string {
  return `t-${name}-${Date.now().toString(36)}`;
}

function base64Url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

/** The local API's unsigned token, as the dev login makes it. */
export function devToken(tenant: string, user: string, role: string): string {
  const header = base64Url(JSON.stringify({ alg: "none", typ: "JWT" }));
  const payload = base64Url(
    JSON.stringify({ sub: user, "custom:tenant_id": tenant, "cognito:groups": [role], email: `${user}@${tenant}.local.test` }),
  );
  return `${header}.${payload}.`;
}

/** Signs in through the dev login screen. */
export async function signIn(page: Page, tenant: string, user = "u-admin", role = "admin") {
  await page.goto("/");
  await page.getByLabel("Công ty (tenant)").fill(tenant);
  await page.getByLabel("Người dùng").fill(user);
  await page.getByLabel("Vai trò").selectOption(role);
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await expect(page.getByTestId("who")).toContainText(tenant);
}

/** The API as a test sets up what a screen needs, with the same token as the browser. */
export class Api {
  constructor(
    private readonly request: APIRequestContext,
    private readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await this.request.fetch(path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...headers },
      data: body === undefined ? undefined : body,
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : null;
    if (!response.ok()) throw new Error(`${method} ${path}: ${response.status()} ${text}`);
    return json;
  }
}

/** Every input, select and textarea on the page has an accessible name. */
export async function expectEveryInputLabelled(page: Page) {
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll("input, select, textarea"))
      .filter((el) => {
        const control = el as HTMLInputElement;
        if (control.type === "hidden") return false;
        const labelled = (control.labels?.length ?? 0) > 0;
        return !labelled && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby");
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  expect(unlabelled).toEqual([]);
}

const SCREENS = "test-results/screens";
/** A screenshot of a main screen, kept as a test artefact (listed in the README). */
export async function screen(page: Page, name: string) {
  mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: `${SCREENS}/${name}.png`, fullPage: true });
}

import { expect, test } from "@playwright/test";
import { createHash } from "node:crypto";
import { devToken, freshTenant } from "./helpers";

// A deployment signs in through Cognito's hosted UI with the authorization code flow and PKCE.
// The hosted UI is played here by routes of the browser: it checks what a real one checks (the
// client, the redirect, the verifier against the challenge) and hands out a token the local API
// reads.
test("a deployment's console signs in through the hosted UI with PKCE and out again", async ({ page }) => {
  const tenant = freshTenant("cognito");
  const domain = "login.crm.example";
  const clientId = "console-client";
  let challenge = "";
  let exchanged = 0;
  await page.route("**/config.json", (route) =>
    route.fulfill({ json: { api_base: "", login: { type: "cognito", domain, client_id: clientId } } }),
  );
  await page.route(`https://${domain}/oauth2/authorize?**`, (route) => {
    const url = new URL(route.request().url());
    expect(url.searchParams.get("client_id")).toBe(clientId);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    challenge = url.searchParams.get("code_challenge") ?? "";
    const back = new URL(url.searchParams.get("redirect_uri") ?? "");
    back.searchParams.set("code", "the-code");
    back.searchParams.set("state", url.searchParams.get("state") ?? "");
    return route.fulfill({ status: 302, headers: { location: back.toString() } });
  });
  await page.route(`https://${domain}/oauth2/token`, (route) => {
    const form = new URLSearchParams(route.request().postData() ?? "");
    const verifier = form.get("code_verifier") ?? "";
    const expected = createHash("sha256").update(verifier).digest("base64url");
    exchanged += 1;
    if (form.get("code") !== "the-code" || expected !== challenge || form.get("client_id") !== clientId) {
      return route.fulfill({ status: 400, json: { error: "invalid_grant" }, headers: { "access-control-allow-origin": "*" } });
    }
    return route.fulfill({
      json: { id_token: devToken(tenant, "u-admin", "admin"), access_token: "a", token_type: "Bearer", expires_in: 3600 },
      headers: { "access-control-allow-origin": "*" },
    });
  });
  let loggedOut = false;
  await page.route(`https://${domain}/logout?**`, (route) => {
    loggedOut = true;
    const back = new URL(route.request().url()).searchParams.get("logout_uri") ?? "/";
    return route.fulfill({ status: 302, headers: { location: back } });
  });

  await page.goto("/");
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await expect(page.getByTestId("who")).toContainText(tenant);
  expect(exchanged).toBe(1);
  // The code and state are gone from the address bar.
  expect(new URL(page.url()).search).toBe("");
  await page.getByRole("button", { name: "Đăng xuất" }).click();
  await expect(page.getByRole("button", { name: "Đăng nhập" })).toBeVisible();
  expect(loggedOut).toBe(true);
});

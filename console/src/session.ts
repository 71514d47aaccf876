// Who is signed in, and how. Locally the console asks for tenant, user and role and makes the
// unsigned token `infra/local-api` reads (it binds to loopback and verifies nothing); a
// deployment signs in through the Cognito hosted UI and sends its ID token, which the HTTP
// API's JWT authorizer verifies.

export type LoginConfig =
  | { type: "dev" }
  | { type: "cognito"; domain: string; client_id: string };

export interface ConsoleConfig {
  /** Base URL of the HTTP API; empty when the console is served by the API's own host. */
  api_base: string;
  login: LoginConfig;
}

export interface Session {
  token: string;
  tenant: string;
  user: string;
  role: string;
}

const KEY = "crm-console.session";

export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) return (await response.json()) as ConsoleConfig;
  } catch {
    // No config (the dev server without the local API): the dev login on this origin.
  }
  return { api_base: "", login: { type: "dev" } };
}

export function currentSession(): Session | null {
  const stored = sessionStorage.getItem(KEY);
  if (!stored) return null;
  try {
    return JSON.parse(stored) as Session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

function base64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  bytes.forEach((b) => (binary += String.fromCharCode(b)));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The unsigned token of the local API: the claims API Gateway's authorizer would pass. */
export function devSession(tenant: string, user: string, role: string): Session {
  const header = base64Url(JSON.stringify({ alg: "none", typ: "JWT" }));
  const payload = base64Url(
    JSON.stringify({
      sub: user,
      "custom:tenant_id": tenant,
      "cognito:groups": [role],
      email: `${user}@${tenant}.local.test`,
    }),
  );
  return { token: `${header}.${payload}.`, tenant, user, role };
}

function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  const padded = payload.replace(/-/g, "+").replace(/_/g, "/");
  const json = decodeURIComponent(
    Array.from(atob(padded), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
  );
  return JSON.parse(json) as Record<string, unknown>;
}

/** Sends the browser to the Cognito hosted UI, which comes back with `#id_token=…`. */
export function cognitoSignIn(login: Extract<LoginConfig, { type: "cognito" }>): void {
  const redirect = window.location.origin + window.location.pathname;
  const query = new URLSearchParams({
    client_id: login.client_id,
    response_type: "token",
    scope: "openid email profile",
    redirect_uri: redirect,
  });
  window.location.assign(`https://${login.domain}/login?${query.toString()}`);
}

/** Takes the ID token the hosted UI put in the fragment, if any, and clears the fragment. */
export function takeCognitoRedirect(): Session | null {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const token = fragment.get("id_token");
  if (!token) return null;
  const claims = claimsOf(token);
  const groups = claims["cognito:groups"];
  const session: Session = {
    token,
    tenant: String(claims["custom:tenant_id"] ?? ""),
    user: String(claims.sub ?? ""),
    role: Array.isArray(groups) && groups.length > 0 ? String(groups[0]) : "",
  };
  saveSession(session);
  window.history.replaceState(null, "", window.location.pathname + "#/");
  return session;
}

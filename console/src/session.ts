// Who is signed in, and how. Locally the console asks for tenant, user and role and makes the
// unsigned token `infra/local-api` reads (it binds to loopback and verifies nothing); a
// deployment signs in through the Cognito hosted UI (authorization code flow with PKCE) and
// sends its ID token, which the HTTP API's JWT authorizer verifies. config.json, written at
// deploy time by infra/deploy_console.py, says which.

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

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];

/**
 * config.json, which the local API serves and a deployment writes. Without one, the dev login
 * is offered on a loopback host only (the Vite dev server without the local API); anywhere else
 * the console stops rather than offer a login the deployment cannot honour.
 */
export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) return (await response.json()) as ConsoleConfig;
  } catch {
    // Unreachable: decided below.
  }
  if (LOOPBACK.includes(window.location.hostname)) return { api_base: "", login: { type: "dev" } };
  throw new Error("config.json is missing: deploy the console with infra/deploy_console.py");
}

export function currentSession(): Session | null {
  const stored = sessionStorage.getItem(KEY);
  if (!stored) return null;
  try {
    const session = JSON.parse(stored) as Session;
    // An expired token is worth nothing: sign in again rather than meet 401 on every call.
    const exp = claimsOf(session.token).exp;
    if (typeof exp === "number" && exp * 1000 <= Date.now()) {
      signOut();
      return null;
    }
    return session;
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

/** base64url of a text's UTF-8 bytes, or of a binary string's bytes as they are. */
function base64Url(text: string, binary = false): string {
  let raw = text;
  if (!binary) {
    raw = "";
    new TextEncoder().encode(text).forEach((b) => (raw += String.fromCharCode(b)));
  }
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
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

type CognitoLogin = Extract<LoginConfig, { type: "cognito" }>;
const PKCE_KEY = "crm-console.pkce";

function randomText(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64Url(String.fromCharCode(...data), true);
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(String.fromCharCode(...new Uint8Array(digest)), true);
}

function redirectUri(): string {
  return window.location.origin + window.location.pathname;
}

/**
 * Sends the browser to the Cognito hosted UI with the authorization code flow and PKCE: the
 * code that comes back is worth nothing without the verifier this tab keeps.
 */
export async function cognitoSignIn(login: CognitoLogin): Promise<void> {
  const verifier = randomText(48);
  const state = randomText(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: login.client_id,
    redirect_uri: redirectUri(),
    scope: "openid email profile",
    code_challenge_method: "S256",
    code_challenge: await challengeOf(verifier),
    state,
  });
  window.location.assign(`https://${login.domain}/oauth2/authorize?${query.toString()}`);
}

/** Signs out of the hosted UI too, so that the next sign-in asks for the password again. */
export function cognitoSignOut(login: CognitoLogin): void {
  signOut();
  const query = new URLSearchParams({ client_id: login.client_id, logout_uri: redirectUri() });
  window.location.assign(`https://${login.domain}/logout?${query.toString()}`);
}

/**
 * Back from the hosted UI with `?code=…&state=…`: the code exchanged (with this tab's verifier)
 * for the ID token the API's authorizer verifies, and the query cleared from the address bar.
 */
export async function takeCognitoRedirect(config: ConsoleConfig): Promise<Session | null> {
  const query = new URLSearchParams(window.location.search);
  const code = query.get("code");
  if (config.login.type !== "cognito" || (!code && !query.get("error"))) return null;
  window.history.replaceState(null, "", window.location.pathname + "#/");
  const stored = sessionStorage.getItem(PKCE_KEY);
  sessionStorage.removeItem(PKCE_KEY);
  const pkce = stored ? (JSON.parse(stored) as { verifier: string; state: string }) : null;
  // A refusal of the hosted UI (?error=…) or an answer to another tab's request signs nobody in.
  if (!code || !pkce || pkce.state !== query.get("state")) return null;
  const response = await fetch(`https://${config.login.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.login.client_id,
      code,
      redirect_uri: redirectUri(),
      code_verifier: pkce.verifier,
    }),
  });
  if (!response.ok) return null;
  const tokens = (await response.json()) as { id_token?: string };
  if (!tokens.id_token) return null;
  const claims = claimsOf(tokens.id_token);
  const groups = claims["cognito:groups"];
  const session: Session = {
    token: tokens.id_token,
    tenant: String(claims["custom:tenant_id"] ?? ""),
    user: String(claims.sub ?? ""),
    role: Array.isArray(groups) && groups.length > 0 ? String(groups[0]) : "",
  };
  saveSession(session);
  return session;
}

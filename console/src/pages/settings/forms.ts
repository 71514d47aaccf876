import type { SettingSlug } from "../../api/settings";
import type { Key } from "../../i18n";

export type Body = Record<string, unknown>;

/** How a member is typed on screen. */
export type Input =
  | "text"
  | "email"
  | "url"
  | "number"
  | "bool"
  /** A module; `modules` narrows the list. */
  | "module"
  /** Text with merge fields of the body's module, on one line or several. */
  | "merge"
  | "merge-long"
  /** A list of strings, one per line. */
  | "lines"
  /** `Field=value` per line: an object of fixed values. */
  | "pairs"
  | "user"
  | "users"
  /** Several fields of the body's module. */
  | "fields"
  | "condition"
  /** A weight per user of the body's `users`. */
  | "weights"
  /** A switchboard extension per user of the tenant. */
  | "extensions"
  | { options: readonly string[]; words?: string };

/** A member of a setting's form: a dotted path into the body, and how it is typed. */
export interface Member {
  path: string;
  label: Key;
  input: Input;
  hint?: Key;
  /** Left out of the body when blank (the API refuses an empty string there). */
  optional?: boolean;
  modules?: readonly string[];
  when?: (body: Body) => boolean;
  /** Sets the member when a change reshapes the body (a gateway's type brings its own members). */
  onSet?: (body: Body, value: unknown) => Body;
}

export interface SettingFormSpec {
  members: Member[];
  blank: () => Body;
  /** Texts shown rendered for a record beside the form: the member paths, and whether HTML. */
  preview?: { path: string; html: boolean }[];
  /** Provider settings whose credentials are kept apart (write-only). */
  credentials?: (body: Body) => string[] | null;
}

export function get(body: Body, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Body)[k] : undefined), body);
}

export function set(body: Body, path: string, value: unknown): Body {
  const [head, ...rest] = path.split(".");
  if (rest.length === 0) {
    const { [head]: _old, ...others } = body;
    return value === undefined ? others : { ...body, [head]: value };
  }
  return { ...body, [head]: set((body[head] as Body) ?? {}, rest.join("."), value) };
}

/**
 * A weighted rule's weights, one per user in the order of `users` (a 422 at
 * /strategy/weights/<i> then lands on the i-th user's box); a user keeps their weight.
 */
function withWeights(body: Body): Body {
  if (get(body, "strategy.type") !== "weighted") return body;
  const kept = (get(body, "strategy.weights") as { user: string; weight: number }[] | undefined) ?? [];
  const weights = ((body.users as string[]) ?? []).map((user) => ({ user, weight: kept.find((w) => w.user === user)?.weight ?? 1 }));
  return { ...body, strategy: { type: "weighted", weights } };
}

const name: Member = { path: "name", label: "settings.name", input: "text" };
const module: Member = { path: "module", label: "workflows.module", input: "module" };
const brandname = (b: Body) => get(b, "gateway.type") === "brandname";

/** The form of each kind of setting, as its OpenAPI schema has it. */
export const FORMS: Partial<Record<SettingSlug, SettingFormSpec>> = {
  "sms-providers": {
    blank: () => ({ name: "", gateway: { type: "brandname", base_url: "", brandname: "" } }),
    members: [
      name,
      {
        path: "gateway.type",
        label: "settings.gateway",
        input: { options: ["brandname", "sns"], words: "settings.gateway" },
        onSet: (body, type) => ({ ...body, gateway: type === "sns" ? { type, sender_id: "" } : { type, base_url: "", brandname: "" } }),
      },
      { path: "gateway.base_url", label: "settings.baseUrl", input: "url", when: brandname, hint: "settings.httpsHint" },
      { path: "gateway.brandname", label: "settings.brandname", input: "text", when: brandname },
      { path: "gateway.sender_id", label: "settings.senderId", input: "text", when: (b) => !brandname(b) },
    ],
    credentials: (b) => (brandname(b) ? ["api_key", "secret_key"] : null),
  },
  "zns-providers": {
    blank: () => ({ name: "", oa_id: "", base_url: "" }),
    members: [name, { path: "oa_id", label: "settings.oaId", input: "text" }, { path: "base_url", label: "settings.baseUrl", input: "url", hint: "settings.httpsHint" }],
    credentials: () => ["access_token"],
  },
  "email-senders": {
    blank: () => ({ name: "", from_address: "", from_name: "" }),
    members: [
      name,
      { path: "from_address", label: "settings.fromAddress", input: "email" },
      { path: "from_name", label: "settings.fromName", input: "text" },
      { path: "reply_to", label: "settings.replyTo", input: "email", optional: true },
    ],
  },
  "sms-templates": {
    blank: () => ({ name: "", module: "Customer", body: "" }),
    members: [name, module, { path: "body", label: "settings.body", input: "merge-long" }],
    preview: [{ path: "body", html: false }],
  },
  "email-templates": {
    blank: () => ({ name: "", module: "Customer", subject: "", html_body: "" }),
    members: [name, module, { path: "subject", label: "settings.subject", input: "merge" }, { path: "html_body", label: "settings.htmlBody", input: "merge-long" }],
    preview: [
      { path: "subject", html: false },
      { path: "html_body", html: true },
    ],
  },
  "print-templates": {
    blank: () => ({ name: "", module: "Customer", file_name: "", body: "" }),
    members: [name, module, { path: "file_name", label: "settings.fileName", input: "merge" }, { path: "body", label: "settings.body", input: "merge-long" }],
    preview: [
      { path: "file_name", html: false },
      { path: "body", html: false },
    ],
  },
  "zns-templates": {
    blank: () => ({ name: "", zalo_template_id: "", parameters: [] }),
    members: [
      name,
      { path: "zalo_template_id", label: "settings.zaloTemplateId", input: "text" },
      { path: "parameters", label: "settings.parameters", input: "lines", hint: "settings.parametersHint" },
    ],
  },
  "task-connections": {
    blank: () => ({ name: "", url: "" }),
    members: [name, { path: "url", label: "settings.url", input: "url", hint: "settings.httpsHint" }],
    credentials: () => ["signing_key"],
  },
  "voip-providers": {
    blank: () => ({ name: "", base_url: "", extensions: {} }),
    members: [
      name,
      { path: "base_url", label: "settings.baseUrl", input: "url", hint: "settings.voipHint" },
      { path: "extensions", label: "settings.extensions", input: "extensions", hint: "settings.extensionsHint" },
    ],
    credentials: () => ["api_key", "secret_key"],
  },
  mailboxes: {
    blank: () => ({ name: "", user: "", host: "imap.gmail.com", port: 993, username: "", auth: "password", inbox: "INBOX", sent: "Sent", aliases: [], paused: false }),
    members: [
      name,
      { path: "user", label: "settings.mailboxUser", input: "user" },
      { path: "host", label: "settings.imapHost", input: "text", hint: "settings.imapHostHint" },
      { path: "port", label: "settings.port", input: "number" },
      { path: "username", label: "settings.username", input: "text" },
      {
        path: "auth",
        label: "settings.mailAuth",
        input: { options: ["password", "oauth2"], words: "settings.mailAuth" },
        onSet: (body, auth) => (auth === "oauth2" ? { ...body, auth } : set({ ...body, auth }, "token_url", undefined)),
      },
      { path: "token_url", label: "settings.tokenUrl", input: "url", optional: true, hint: "settings.tokenUrlHint", when: (b) => get(b, "auth") === "oauth2" },
      { path: "inbox", label: "settings.inbox", input: "text" },
      { path: "sent", label: "settings.sentFolder", input: "text", optional: true, hint: "settings.sentFolderHint" },
      { path: "aliases", label: "settings.aliases", input: "lines", hint: "settings.aliasesHint" },
      { path: "paused", label: "settings.paused", input: "bool" },
    ],
    credentials: (b) => (get(b, "auth") !== "oauth2" ? ["password"] : get(b, "token_url") ? ["refresh_token", "client_id", "client_secret"] : ["access_token"]),
  },
  "web-forms": {
    blank: () => ({ name: "", module: "Lead", fields: [], fixed: {}, owner: "" }),
    members: [
      name,
      { ...module, modules: ["Lead", "Customer", "Contact"] },
      { path: "fields", label: "settings.formFields", input: "fields" },
      { path: "fixed", label: "settings.fixed", input: "pairs", hint: "settings.fixedHint" },
      { path: "owner", label: "settings.owner", input: "user" },
    ],
  },
  "allocation-rules": {
    blank: () => ({
      name: "",
      module: "Lead",
      users: [],
      strategy: { type: "round_robin" },
      skip_inactive: true,
      on_create: false,
      priority: 0,
      override_owner: false,
      condition: { type: "all_records" },
    }),
    members: [
      name,
      module,
      { path: "users", label: "allocation.users", input: "users", hint: "allocation.usersHint", onSet: (body, users) => withWeights({ ...body, users }) },
      { path: "team", label: "allocation.team", input: "text", optional: true },
      {
        path: "strategy.type",
        label: "allocation.strategy",
        input: { options: ["round_robin", "weighted", "fewest_open"], words: "allocation.strategy" },
        onSet: (body, type) => withWeights({ ...body, strategy: { type } }),
      },
      { path: "strategy.weights", label: "allocation.weights", input: "weights", when: (b) => get(b, "strategy.type") === "weighted" },
      { path: "max_open", label: "allocation.maxOpen", input: "number", optional: true, hint: "allocation.maxOpenHint" },
      { path: "skip_inactive", label: "allocation.skipInactive", input: "bool" },
      { path: "on_create", label: "allocation.onCreate", input: "bool" },
      { path: "priority", label: "allocation.priority", input: "number", when: (b) => b.on_create === true },
      { path: "override_owner", label: "allocation.overrideOwner", input: "bool", when: (b) => b.on_create === true },
      { path: "condition", label: "editor.condition", input: "condition" },
    ],
  },
};

import { useState, type FormEvent } from "react";
import { NavLink, useParams } from "react-router-dom";
import { asProblem, api, ApiProblem, ok } from "../../api/client";
import { modules, moduleSchema } from "../../api/modules";
import { settingName, settingsOf, type Setting, type SettingSlug } from "../../api/settings";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { MergeText } from "../workflows/MergeText";
import { SMS_SEGMENT, smsSegments } from "./segments";

/** A member of a setting's form: a dotted path into the body, and how it is typed. */
interface Member {
  path: string;
  label: Key;
  input: "text" | "email" | "module" | "merge" | "merge-long" | { options: string[] };
  when?: (body: Body) => boolean;
  /** Sets the member when a change reshapes the body (a gateway's type brings its own members). */
  onSet?: (body: Body, value: unknown) => Body;
}
type Body = Record<string, unknown>;

const FORMS: Partial<Record<SettingSlug, { members: Member[]; blank: () => Body }>> = {
  "sms-providers": {
    blank: () => ({ name: "", gateway: { type: "brandname", base_url: "", brandname: "" } }),
    members: [
      { path: "name", label: "settings.name", input: "text" },
      {
        path: "gateway.type",
        label: "settings.gateway",
        input: { options: ["brandname", "sns"] },
        onSet: (body, type) => ({ ...body, gateway: type === "sns" ? { type, sender_id: "" } : { type, base_url: "", brandname: "" } }),
      },
      { path: "gateway.base_url", label: "settings.baseUrl", input: "text", when: (b) => get(b, "gateway.type") === "brandname" },
      { path: "gateway.brandname", label: "settings.brandname", input: "text", when: (b) => get(b, "gateway.type") === "brandname" },
      { path: "gateway.sender_id", label: "settings.senderId", input: "text", when: (b) => get(b, "gateway.type") === "sns" },
    ],
  },
  "sms-templates": {
    blank: () => ({ name: "", module: "Customer", body: "" }),
    members: [
      { path: "name", label: "settings.name", input: "text" },
      { path: "module", label: "workflows.module", input: "module" },
      { path: "body", label: "settings.body", input: "merge-long" },
    ],
  },
  "email-senders": {
    blank: () => ({ name: "", from_address: "", from_name: "", reply_to: null }),
    members: [
      { path: "name", label: "settings.name", input: "text" },
      { path: "from_address", label: "settings.fromAddress", input: "email" },
      { path: "from_name", label: "settings.fromName", input: "text" },
      { path: "reply_to", label: "settings.replyTo", input: "email" },
    ],
  },
  "email-templates": {
    blank: () => ({ name: "", module: "Customer", subject: "", html_body: "" }),
    members: [
      { path: "name", label: "settings.name", input: "text" },
      { path: "module", label: "workflows.module", input: "module" },
      { path: "subject", label: "settings.subject", input: "merge" },
      { path: "html_body", label: "settings.htmlBody", input: "merge-long" },
    ],
  },
};

export const SETTINGS_PAGES: SettingSlug[] = ["sms-providers", "sms-templates", "email-senders", "email-templates"];

function get(body: Body, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Body)[k] : undefined), body);
}

function set(body: Body, path: string, value: unknown): Body {
  const [head, ...rest] = path.split(".");
  if (rest.length === 0) return { ...body, [head]: value };
  return { ...body, [head]: set((body[head] as Body) ?? {}, rest.join("."), value) };
}

/** Strips what the API returns but a body may not carry (id, revision, kind). */
function editable(setting: Setting): Body {
  const { id: _id, revision: _revision, kind: _kind, ...rest } = setting as unknown as Body;
  return rest;
}

/** The settings pages, one link each. */
export function SettingsNav() {
  const t = useT();
  return (
    <nav className="subnav" aria-label={t("settings.title")}>
      {SETTINGS_PAGES.map((s) => (
        <NavLink key={s} to={`/settings/${s}`}>
          {t(`settings.kind.${s}` as Key)}
        </NavLink>
      ))}
      <NavLink to="/settings/users">{t("users.title")}</NavLink>
    </nav>
  );
}

export function SettingsPage() {
  const t = useT();
  const { kind = "sms-providers" } = useParams();
  const slug = kind as SettingSlug;
  const list = useLoad(() => settingsOf(slug), [slug]);
  const [editing, setEditing] = useState<{ id?: string; etag?: string; body: Body } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const form = FORMS[slug];
  const remove = async (s: Setting) => {
    try {
      await ok(api().workflows.DELETE("/settings/{kind}/{id}", { params: { path: { kind: slug, id: s.id }, header: { "If-Match": `"${s.revision}"` } } }));
      setProblem(null);
      await list.reload();
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <section>
      <h1>{t("settings.title")}</h1>
      <SettingsNav />
      <h2>{t(`settings.kind.${slug}` as Key)}</h2>
      <ProblemBanner problem={list.problem ?? problem} onReload={list.reload} />
      {!list.loading && (list.data ?? []).length === 0 && <p>{t("settings.none")}</p>}
      <ul className="list">
        {(list.data ?? []).map((s) => (
          <li key={s.id}>
            <span>{settingName(s)}</span> <code className="muted">{s.id}</code>{" "}
            {form && (
              <button type="button" onClick={() => setEditing({ id: s.id, etag: `"${s.revision}"`, body: editable(s) })}>
                {t("action.edit")}
              </button>
            )}
            <button type="button" onClick={() => remove(s)}>
              {t("action.delete")}
            </button>
          </li>
        ))}
      </ul>
      {form && !editing && (
        <button type="button" className="primary" onClick={() => setEditing({ body: form.blank() })}>
          {t("settings.add")}
        </button>
      )}
      {form && editing && (
        <SettingForm
          key={editing.id ?? "new"}
          slug={slug}
          members={form.members}
          initial={editing}
          onDone={async () => {
            setEditing(null);
            await list.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
    </section>
  );
}

function SettingForm({
  slug,
  members,
  initial,
  onDone,
  onCancel,
}: {
  slug: SettingSlug;
  members: Member[];
  initial: { id?: string; etag?: string; body: Body };
  onDone: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const [body, setBody] = useState<Body>(initial.body);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const moduleList = useLoad(modules, []);
  const module = typeof body.module === "string" ? body.module : "Customer";
  const schema = useLoad(() => moduleSchema(module), [module]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      // The body's shape is the kind's (checked by the API); the client types one union for all.
      const sent = body as never;
      if (initial.id) {
        await ok(api().workflows.PUT("/settings/{kind}/{id}", { params: { path: { kind: slug, id: initial.id }, header: { "If-Match": initial.etag ?? "" } }, body: sent }));
      } else {
        await ok(api().workflows.POST("/settings/{kind}", { params: { path: { kind: slug } }, body: sent }));
      }
      onDone();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormProblem.Provider value={problem}>
      <form noValidate className="panel" onSubmit={submit} aria-label={t("settings.add")}>
        {members
          .filter((m) => !m.when || m.when(body))
          .map((m) => {
            const pointer = "/" + m.path.replace(/\./g, "/");
            const value = get(body, m.path);
            const change = (v: unknown) => setBody(m.onSet ? m.onSet(body, v) : set(body, m.path, v));
            if (m.input === "merge" || m.input === "merge-long") {
              const text = typeof value === "string" ? value : "";
              return (
                <div key={m.path}>
                  <MergeText label={t(m.label)} pointer={pointer} value={text} onChange={change} fields={schema.data?.fields ?? []} multiline={m.input === "merge-long"} />
                  {slug === "sms-templates" && m.path === "body" && (
                    <p className="hint" data-testid="sms-segments">
                      {t("settings.segments").replace("{chars}", String(text.length)).replace("{segments}", String(smsSegments(text))).replace("{per}", String(SMS_SEGMENT))}
                    </p>
                  )}
                </div>
              );
            }
            return (
              <Field key={m.path} label={t(m.label)} pointer={pointer}>
                {(id, d) =>
                  m.input === "module" ? (
                    <select id={id} aria-describedby={d} value={String(value ?? "")} onChange={(e) => change(e.target.value)}>
                      {(moduleList.data ?? []).map((mod) => (
                        <option key={mod.module} value={mod.module}>
                          {t.lang === "vi" ? mod.label_vi : mod.module}
                        </option>
                      ))}
                    </select>
                  ) : typeof m.input === "object" ? (
                    <select id={id} aria-describedby={d} value={String(value ?? "")} onChange={(e) => change(e.target.value)}>
                      {m.input.options.map((o) => (
                        <option key={o} value={o}>
                          {o}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <input id={id} aria-describedby={d} type={m.input} value={value == null ? "" : String(value)} onChange={(e) => change(m.path === "reply_to" && e.target.value === "" ? null : e.target.value)} />
                  )
                }
              </Field>
            );
          })}
        <ProblemBanner problem={problem} />
        <div className="toolbar">
          <button type="submit" className="primary" disabled={busy}>
            {t("action.save")}
          </button>
          <button type="button" onClick={onCancel}>
            {t("action.cancel")}
          </button>
        </div>
      </form>
    </FormProblem.Provider>
  );
}

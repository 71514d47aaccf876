import { useState } from "react";
import { NavLink, useParams } from "react-router-dom";
import { api, ok, type W } from "../../api/client";
import { settingName, settingsOf, type Setting, type SettingSlug } from "../../api/settings";
import { ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { AllocationPreview } from "./AllocationPreview";
import { Credentials } from "./Credentials";
import { FORMS, type Body } from "./forms";
import { SettingForm } from "./SettingForm";

export const SETTINGS_PAGES: SettingSlug[] = [
  "sms-providers",
  "sms-templates",
  "email-senders",
  "email-templates",
  "print-templates",
  "zns-providers",
  "zns-templates",
  "allocation-rules",
  "task-connections",
  "voip-providers",
  "mailboxes",
  "web-forms",
  "actions",
];

/** Strips what the API returns but a body may not carry (id, revision, kind, a form's key hash). */
function editable(setting: Setting): Body {
  const { id: _id, revision: _revision, kind: _kind, key_sha256: _key, ...rest } = setting as unknown as Body;
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
      <NavLink to="/settings/tenant">{t("tenant.title")}</NavLink>
      <NavLink to="/settings/users">{t("users.title")}</NavLink>
    </nav>
  );
}

export function SettingsPage() {
  const t = useT();
  const { kind = "sms-providers" } = useParams();
  const slug = SETTINGS_PAGES.find((s) => s === kind) ?? "sms-providers";
  const list = useLoad(() => settingsOf(slug), [slug]);
  const [editing, setEditing] = useState<{ id?: string; etag?: string; body: Body } | null>(null);
  const [open, setOpen] = useState<{ id: string; panel: "credentials" | "key" } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const spec = FORMS[slug];
  const remove = async (s: Setting) => {
    try {
      await ok(api().workflows.DELETE("/settings/{kind}/{id}", { params: { path: { kind: slug, id: s.id }, header: { "If-Match": `"${s.revision}"` } } }));
      setProblem(null);
      await list.reload();
    } catch (e) {
      setProblem(e);
    }
  };
  const toggle = (id: string, panel: "credentials" | "key") => setOpen(open?.id === id && open.panel === panel ? null : { id, panel });
  return (
    <section>
      <h1>{t("settings.title")}</h1>
      <SettingsNav />
      <h2>{t(`settings.kind.${slug}` as Key)}</h2>
      {!spec && <p className="hint">{t(`settings.about.${slug}` as Key)}</p>}
      <ProblemBanner problem={list.problem ?? problem} onReload={list.reload} />
      {!list.loading && (list.data ?? []).length === 0 && <p>{t("settings.none")}</p>}
      <ul className="list">
        {(list.data ?? []).map((s) => {
          const credentials = spec?.credentials?.(editable(s));
          return (
            <li key={s.id}>
              <span>{settingName(s)}</span> <code className="muted">{s.id}</code>{" "}
              {spec && (
                <button type="button" onClick={() => setEditing({ id: s.id, etag: `"${s.revision}"`, body: editable(s) })}>
                  {t("action.edit")}
                </button>
              )}
              {credentials && (
                <button type="button" aria-expanded={open?.id === s.id && open.panel === "credentials"} onClick={() => toggle(s.id, "credentials")}>
                  {t("credentials.title")}
                </button>
              )}
              {slug === "web-forms" && (
                <button type="button" aria-expanded={open?.id === s.id && open.panel === "key"} onClick={() => toggle(s.id, "key")}>
                  {t("webForm.key")}
                </button>
              )}
              <button type="button" onClick={() => remove(s)}>
                {t("action.delete")}
              </button>
              {slug === "mailboxes" && <MailboxSync id={s.id} />}
              {credentials && open?.id === s.id && open.panel === "credentials" && <Credentials slug={slug} id={s.id} names={credentials} />}
              {slug === "web-forms" && open?.id === s.id && open.panel === "key" && <WebFormKey id={s.id} revision={s.revision} onIssued={list.reload} />}
            </li>
          );
        })}
      </ul>
      {spec && !editing && (
        <button type="button" className="primary" onClick={() => setEditing({ body: spec.blank() })}>
          {t("settings.add")}
        </button>
      )}
      {spec && editing && (
        <SettingForm
          key={editing.id ?? "new"}
          slug={slug}
          spec={spec}
          initial={editing}
          onDone={async () => {
            setEditing(null);
            await list.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      {slug === "allocation-rules" && <AllocationPreview />}
    </section>
  );
}

/** Where a mailbox's sync stands: when it last ran, what it kept, what stopped it. */
function MailboxSync({ id }: { id: string }) {
  const t = useT();
  const status = useLoad(() => ok(api().workflows.GET("/settings/mailboxes/{id}/sync", { params: { path: { id } } })), [id]);
  if (status.problem) return <ProblemBanner problem={status.problem} onReload={status.reload} />;
  const s = status.data;
  if (!s) return null;
  return (
    <p className="hint" data-testid={`mailbox-sync-${id}`}>
      {s.last_run_at ? t("mailbox.lastRun").replace("{at}", new Date(s.last_run_at).toLocaleString(t.locale)) : t("mailbox.never")}{" "}
      {t("mailbox.stored").replace("{n}", String(s.stored))}
      {s.last_error && (
        <strong className="sync-error" role="alert">
          {" "}
          {t("mailbox.error").replace("{error}", s.last_error)}
        </strong>
      )}
    </p>
  );
}

/** Issues a web form's key, shown this once: the form keeps only its hash. */
function WebFormKey({ id, revision, onIssued }: { id: string; revision: number; onIssued: () => void }) {
  const t = useT();
  const [issued, setIssued] = useState<W["WebFormKey"] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const issue = async () => {
    try {
      setIssued(await ok(api().workflows.POST("/settings/web-forms/{id}/key", { params: { path: { id }, header: { "If-Match": `"${revision}"` } } })));
      setProblem(null);
      onIssued();
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <div className="panel">
      <p className="hint">{t("webForm.keyHint")}</p>
      <ProblemBanner problem={problem} />
      {issued ? (
        <p>
          {t("webForm.keyOnce")} <code data-testid="web-form-key">{issued.key}</code>
          <br />
          {t("webForm.postTo")} <code>{issued.intake_path}</code>
        </p>
      ) : (
        <button type="button" className="primary" onClick={issue}>
          {t("webForm.issue")}
        </button>
      )}
    </div>
  );
}

import { useState, type FormEvent } from "react";
import { asProblem, api, ok, type ApiProblem } from "../../api/client";
import type { SettingSlug } from "../../api/settings";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";

/**
 * A provider's credentials: whether they are set and since when, and a form that sets or
 * rotates them. They are write-only: nothing typed here is ever shown again.
 */
export function Credentials({ slug, id, names }: { slug: SettingSlug; id: string; names: string[] }) {
  const t = useT();
  const path = { params: { path: { kind: slug, id } } };
  const status = useLoad(() => ok(api().workflows.GET("/settings/{kind}/{id}/credentials", path)), [slug, id]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (call: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await call();
      setValues({});
      setProblem(null);
      await status.reload();
    } catch (e) {
      setProblem(asProblem(e));
    } finally {
      setBusy(false);
    }
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    const body = Object.fromEntries(names.map((n) => [n, values[n] ?? ""]));
    void run(() => ok(api().workflows.PUT("/settings/{kind}/{id}/credentials", { ...path, body: body as never })));
  };
  const configured = status.data?.configured === true;
  return (
    <FormProblem.Provider value={problem}>
      <form noValidate className="panel" onSubmit={save} aria-label={t("credentials.title")}>
        <h3>{t("credentials.title")}</h3>
        <ProblemBanner problem={status.problem} onReload={status.reload} />
        <p data-testid="credentials-status">
          {configured
            ? t("credentials.set").replace("{at}", status.data?.updated_at ? new Date(status.data.updated_at).toLocaleString(t.locale) : "—")
            : t("credentials.notSet")}
        </p>
        {names.map((n) => (
          <Field key={n} label={t(`credentials.${n}` as Key)} pointer={`/${n}`}>
            {(fid, d) => <input id={fid} aria-describedby={d} type="password" autoComplete="new-password" value={values[n] ?? ""} onChange={(e) => setValues({ ...values, [n]: e.target.value })} />}
          </Field>
        ))}
        <ProblemBanner problem={problem} />
        <div className="toolbar">
          <button type="submit" className="primary" disabled={busy}>
            {configured ? t("credentials.rotate") : t("credentials.save")}
          </button>
          {configured && (
            <button type="button" className="danger" disabled={busy} onClick={() => void run(() => ok(api().workflows.DELETE("/settings/{kind}/{id}/credentials", path)))}>
              {t("credentials.remove")}
            </button>
          )}
        </div>
      </form>
    </FormProblem.Provider>
  );
}

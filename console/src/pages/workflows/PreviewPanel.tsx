import { useState, type FormEvent } from "react";
import { api, ok, type W } from "../../api/client";
import { Field, ProblemBanner } from "../../components/Problem";
import { useT } from "../../i18n";

/** The dry run: who the workflow fires for in the next N days, and the messages rendered. */
export function PreviewPanel({ workflow }: { workflow: W["Workflow"] }) {
  const t = useT();
  const [days, setDays] = useState(30);
  // Empty: from now. Otherwise a local date and time, sent as the instant it names here.
  const [asOf, setAsOf] = useState("");
  const [result, setResult] = useState<W["Preview"] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (workflow.kind !== "care") {
    return <p>{t("preview.careOnly")}</p>;
  }
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      setResult(
        await ok(
          api().workflows.GET("/workflows/{id}/preview", {
            params: { path: { id: workflow.id }, query: { days, render: 5, as_of: asOf ? new Date(asOf).toISOString() : undefined } },
          }),
        ),
      );
      setProblem(null);
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <form className="inline-form" onSubmit={run}>
        <Field label={t("preview.days")} pointer="/query/days">
          {(id, describedBy) => (
            <input
              id={id}
              aria-describedby={describedBy}
              type="number"
              min={1}
              max={366}
              value={days}
              onChange={(e) => setDays(Number(e.target.value))}
            />
          )}
        </Field>
        <Field label={t("preview.asOf")} pointer="/query/as_of" hint={t("preview.asOfHint")}>
          {(id, describedBy) => (
            <input id={id} aria-describedby={describedBy} type="datetime-local" value={asOf} onChange={(e) => setAsOf(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="primary" disabled={busy}>
          {t("preview.run")}
        </button>
      </form>
      <p className="hint">{t("preview.timingRules")}</p>
      <ProblemBanner problem={problem} />
      {result && (
        <div data-testid="preview-result">
          <p>
            {t("preview.summary")
              .replace("{n}", String(result.occurrences.length))
              .replace("{examined}", String(result.records_examined))}
            {result.truncated ? ` ${t("preview.truncated")}` : ""}
          </p>
          {result.occurrences.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th>{t("preview.record")}</th>
                  <th>{t("preview.fireAt")}</th>
                  <th>{t("preview.conditionMet")}</th>
                </tr>
              </thead>
              <tbody>
                {result.occurrences.map((o) => (
                  <tr key={o.record + o.occurrence}>
                    <td>{o.record_name || o.record}</td>
                    <td>{new Date(o.fire_at).toLocaleString(t.locale)}</td>
                    <td>{o.condition_met ? t("yes") : t("no")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {result.rendered.map((r) => (
            <article key={r.record + r.fire_at} className="panel">
              <h3>
                {result.occurrences.find((o) => o.record === r.record)?.record_name || r.record} ·{" "}
                {new Date(r.fire_at).toLocaleString(t.locale)}
              </h3>
              {r.actions.map((a) => (
                <div key={a.action} className="rendered">
                  <strong>
                    {a.kind}: {a.subject ?? a.action}
                  </strong>
                  <p className="message">{a.text}</p>
                </div>
              ))}
            </article>
          ))}
        </div>
      )}
    </div>
  );
}

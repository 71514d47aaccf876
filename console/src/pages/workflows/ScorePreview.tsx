import { useState } from "react";
import { api, ok, type W } from "../../api/client";
import { ProblemBanner } from "../../components/Problem";
import { useT } from "../../i18n";

/** A scoring rule's dry run over the module's records as they are: nothing is written. */
export function ScorePreview({ workflow }: { workflow: string }) {
  const t = useT();
  const [result, setResult] = useState<W["ScorePreview"] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      setResult(await ok(api().workflows.GET("/workflows/{id}/score-preview", { params: { path: { id: workflow }, query: { buckets: 5 } } })));
      setProblem(null);
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <p className="hint">{t("scorePreview.hint")}</p>
      <button type="button" className="primary" disabled={busy} onClick={run}>
        {t("preview.run")}
      </button>
      <ProblemBanner problem={problem} />
      {result && (
        <div data-testid="score-preview">
          <p>
            {t("scorePreview.summary")
              .replace("{scored}", String(result.scored))
              .replace("{examined}", String(result.records_examined))
              .replace("{change}", String(result.would_change))}
          </p>
          {result.average != null && (
            <p>
              {t("scorePreview.range")
                .replace("{low}", String(result.lowest))
                .replace("{high}", String(result.highest))
                .replace("{avg}", result.average.toLocaleString(t.locale, { maximumFractionDigits: 1 }))}
            </p>
          )}
          {result.truncated && <p className="hint">{t("preview.truncated")}</p>}
          <table>
            <caption>{t("scorePreview.criteria")}</caption>
            <tbody>
              {result.criteria.map((c) => (
                <tr key={c.name}>
                  <th scope="row">{c.name}</th>
                  <td>{c.records}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {result.distribution.length > 0 && (
            <table>
              <caption>{t("scorePreview.distribution")}</caption>
              <tbody>
                {result.distribution.map((b) => (
                  <tr key={b.from}>
                    <th scope="row">
                      {b.from} – {b.to}
                    </th>
                    <td>{b.records}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}

import { useState } from "react";
import { api, ok, type W } from "../../api/client";
import { ProblemBanner } from "../../components/Problem";
import { usePages } from "../../components/usePages";
import { useT, type Key } from "../../i18n";

/** A workflow's runs (or a record's), newest first, with retry for what failed. */
export function RunHistory({ workflow, record }: { workflow?: string; record?: string }) {
  const t = useT();
  const page = usePages<W["Run"]>(
    (cursor) =>
      workflow
        ? ok(api().workflows.GET("/workflows/{id}/runs", { params: { path: { id: workflow }, query: { limit: 50, cursor } } }))
        : ok(api().workflows.GET("/records/{id}/runs", { params: { path: { id: record ?? "" }, query: { limit: 50, cursor } } })),
    [workflow, record],
  );
  const [problem, setProblem] = useState<unknown>(null);
  const retry = async (run: W["Run"]) => {
    try {
      await ok(
        api().workflows.POST("/workflows/{id}/runs/retry", {
          params: { path: { id: run.workflow } },
          body: { key: run.key },
        }),
      );
      setProblem(null);
      await page.reload();
    } catch (e) {
      setProblem(e);
    }
  };
  const runs = page.items;
  return (
    <div data-testid="run-history">
      <ProblemBanner problem={page.problem ?? problem} onReload={page.reload} />
      {!page.loading && runs.length === 0 && <p>{t("runs.none")}</p>}
      {runs.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t("runs.record")}</th>
              <th>{t("runs.action")}</th>
              <th>{t("runs.cause")}</th>
              <th>{t("runs.status")}</th>
              <th>{t("runs.attempts")}</th>
              <th>{t("runs.updated")}</th>
              <th>
                <span className="sr-only">{t("runs.retry")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr key={run.key}>
                <td>{run.record}</td>
                <td>
                  {run.action} <span className="muted">({run.kind})</span>
                </td>
                <td>{run.cause}</td>
                <td>
                  <span className={`badge run-${run.status}`}>{t(`run.${run.status}` as Key)}</span>
                  {run.error && <div className="field-error">{run.error}</div>}
                </td>
                <td>{run.attempts}</td>
                <td>{new Date(run.updated_at).toLocaleString(t.locale)}</td>
                <td>
                  {["failed", "unknown", "retrying", "cancelled"].includes(run.status) && (
                    <button type="button" onClick={() => retry(run)}>
                      {t("runs.retry")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.more && (
        <button type="button" disabled={page.loading} onClick={page.more}>
          {t("action.more")}
        </button>
      )}
    </div>
  );
}

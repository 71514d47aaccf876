import { useEffect, useState } from "react";
import { asProblem, api, ok, type ApiProblem, type W } from "../../api/client";
import { Field, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { recordTitle } from "../customers/values";

interface Text {
  label: Key;
  text: string;
  html: boolean;
}

/** How long typing pauses before the texts are rendered again. */
const SETTLE_MS = 400;

/**
 * The texts being written, rendered by the API for a record the user picks, as they would be
 * sent (the same names, dates and escaping), or with what is wrong in their merge fields.
 */
export function MergePreview({ module, texts }: { module: string; texts: Text[] }) {
  const t = useT();
  const records = useLoad(
    () => ok(api().records.GET("/records/{module}", { params: { path: { module: module as W["Module"] }, query: { limit: 20 } } })),
    [module],
  );
  const [record, setRecord] = useState("");
  const chosen = record || records.data?.items[0]?.id || "";
  const [rendered, setRendered] = useState<W["MergePreview"] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const key = JSON.stringify(texts.map((x) => [x.text, x.html]));
  useEffect(() => {
    if (!chosen) return;
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const answer = await ok(
          api().workflows.POST("/modules/{module}/merge-preview", {
            params: { path: { module: module as W["Module"] } },
            body: { record: chosen, texts: texts.map((x) => ({ text: x.text, html: x.html })) },
          }),
        );
        if (current) {
          setRendered(answer);
          setProblem(null);
        }
      } catch (e) {
        if (current) {
          setRendered(null);
          setProblem(asProblem(e));
        }
      }
    }, SETTLE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // The texts are compared by content, not by the array made on each render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, chosen, module]);
  return (
    <aside className="panel preview" aria-label={t("preview.live")} aria-live="polite">
      <h3>{t("preview.live")}</h3>
      <ProblemBanner problem={records.problem ?? problem} onReload={records.reload} />
      {!records.loading && !chosen && <p className="hint">{t("preview.noRecords")}</p>}
      {chosen && (
        <Field label={t("preview.record")}>
          {(id, d) => (
            <select id={id} aria-describedby={d} value={chosen} onChange={(e) => setRecord(e.target.value)}>
              {(records.data?.items ?? []).map((r) => (
                <option key={r.id} value={r.id}>
                  {recordTitle(r.fields, r.id)}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      {chosen &&
        rendered?.record === chosen &&
        texts.map((x, i) => {
          const out = rendered.texts[i];
          if (!out) return null;
          return (
            <div key={x.label} data-testid="merge-preview">
              <h4>{t(x.label)}</h4>
              {out.rendered == null ? (
                <ul className="field-error">
                  {out.problems.map((p) => (
                    <li key={p}>{p}</li>
                  ))}
                </ul>
              ) : x.html ? (
                // An email body as its recipient sees it; the sandbox runs nothing it holds.
                <iframe className="rendered" title={t(x.label)} sandbox="" srcDoc={out.rendered} />
              ) : (
                <p className="rendered">{out.rendered}</p>
              )}
            </div>
          );
        })}
    </aside>
  );
}

import { useState } from "react";
import { api, ok, type R } from "../../api/client";
import type { FieldDef } from "../../api/modules";
import { ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { fieldLabel, recordTitle, showValue } from "./values";

/**
 * The customers that look like this one (same phone, email or tax code), side by side, and the
 * merge: this customer survives, keeps its values and takes the duplicate's where it has none;
 * the duplicate's related records move to it and the duplicate is deleted.
 */
export function MergePanel({ record, fields, onMerged }: { record: R["Record"]; fields: FieldDef[]; onMerged: () => void }) {
  const t = useT();
  const duplicates = useLoad(() => ok(api().records.GET("/customers/{id}/duplicates", { params: { path: { id: record.id } } })), [record.id, record.revision]);
  const [chosen, setChosen] = useState<R["Duplicate"] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<R["MergeOutcome"] | null>(null);
  const merge = async () => {
    if (!chosen) return;
    try {
      const result = await ok(api().records.POST("/customers/{id}/merge", { params: { path: { id: record.id } }, body: { duplicate: chosen.id } }));
      setOutcome(result);
      setChosen(null);
      setProblem(null);
      onMerged();
      await duplicates.reload();
    } catch (e) {
      setProblem(e);
    }
  };
  const items = duplicates.data?.items ?? [];
  const compared = fields.filter((f) => !f.read_only && (record.fields[f.name] !== undefined || chosen?.fields[f.name] !== undefined));
  return (
    <div data-testid="duplicates">
      <ProblemBanner problem={duplicates.problem ?? problem} onReload={duplicates.reload} />
      {outcome && (
        <p role="status">
          {t("merge.done").replace("{moved}", String(outcome.moved))}
        </p>
      )}
      {!duplicates.loading && items.length === 0 && <p>{t("merge.none")}</p>}
      <ul>
        {items.map((d) => (
          <li key={d.id}>
            <button type="button" onClick={() => setChosen(d)} aria-pressed={chosen?.id === d.id}>
              {recordTitle(d.fields, d.id)}
            </button>{" "}
            <span className="muted">
              {t("merge.shares")} {d.shared.map((k) => t(`identity.${k}` as Key)).join(", ")}
            </span>
          </li>
        ))}
      </ul>
      {chosen && (
        <div className="panel">
          <table className="side-by-side">
            <thead>
              <tr>
                <th>{t("merge.field")}</th>
                <th>{t("merge.survivor")}</th>
                <th>{t("merge.duplicate")}</th>
                <th>{t("merge.result")}</th>
              </tr>
            </thead>
            <tbody>
              {compared.map((f) => {
                const mine = record.fields[f.name];
                const theirs = chosen.fields[f.name];
                const kept = mine === undefined || mine === null || mine === "" ? theirs : mine;
                return (
                  <tr key={f.name}>
                    <th scope="row">{fieldLabel(f, t.lang)}</th>
                    <td>{showValue(f, mine, t)}</td>
                    <td>{showValue(f, theirs, t)}</td>
                    <td>{showValue(f, kept, t)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p className="hint">{t("merge.rule")}</p>
          <button type="button" className="primary" onClick={merge}>
            {t("merge.confirm")}
          </button>
        </div>
      )}
    </div>
  );
}

import { useState } from "react";
import { api, ok, type R } from "../../api/client";
import type { FieldDef } from "../../api/modules";
import { ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { fieldLabel, recordTitle, showValue } from "./values";

/**
 * The customers that look like this one (same phone, email or tax code), side by side, and the
 * merge: this customer survives; per field where the two differ the user picks whose value stays
 * (this customer's by default, the duplicate's where this one has none); the duplicate's related
 * records move to it and the duplicate is deleted.
 */
/** Fields the system keeps whatever the user picks. */
const KEPT = ["Owner", "Rank"];

export function MergePanel({ record, fields, onMerged }: { record: R["Record"]; fields: FieldDef[]; onMerged: () => void }) {
  const t = useT();
  const duplicates = useLoad(() => ok(api().records.GET("/customers/{id}/duplicates", { params: { path: { id: record.id } } })), [record.id, record.revision]);
  const [chosen, setChosen] = useState<R["Duplicate"] | null>(null);
  // The fields whose value comes from the duplicate, as the user picked them.
  const [take, setTake] = useState<string[]>([]);
  const [problem, setProblem] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<R["MergeOutcome"] | null>(null);
  const merge = async () => {
    if (!chosen) return;
    try {
      const result = await ok(api().records.POST("/customers/{id}/merge", { params: { path: { id: record.id } }, body: { duplicate: chosen.id, take } }));
      setOutcome(result);
      setChosen(null);
      setTake([]);
      setProblem(null);
      onMerged();
      await duplicates.reload();
    } catch (e) {
      setProblem(e);
    }
  };
  const items = duplicates.data?.items ?? [];
  const compared = fields.filter((f) => !f.read_only && (record.fields[f.name] !== undefined || chosen?.fields[f.name] !== undefined));
  // What the user may choose: not the owner (a hand-over of its own) nor the rank (from orders).
  const choosable = (f: FieldDef) => !KEPT.includes(f.name);
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
            <button
              type="button"
              onClick={() => {
                setChosen(d);
                setTake([]);
              }}
              aria-pressed={chosen?.id === d.id}
            >
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
                const taken = take.includes(f.name);
                const kept = taken ? theirs : mine === undefined || mine === null || mine === "" ? theirs : mine;
                const blank = mine === undefined || mine === null || mine === "";
                // Where this customer has nothing, the duplicate's value stays either way.
                const differ = choosable(f) && !blank && JSON.stringify(mine ?? null) !== JSON.stringify(theirs ?? null);
                const label = fieldLabel(f, t.lang);
                const pick = (fromDuplicate: boolean) => setTake(fromDuplicate ? [...take.filter((n) => n !== f.name), f.name] : take.filter((n) => n !== f.name));
                return (
                  <tr key={f.name}>
                    <th scope="row">{label}</th>
                    <td>
                      {differ ? (
                        <label>
                          <input type="radio" name={`keep-${f.name}`} checked={!taken} onChange={() => pick(false)} aria-label={`${label}: ${t("merge.survivor")}`} /> {showValue(f, mine, t)}
                        </label>
                      ) : (
                        showValue(f, mine, t)
                      )}
                    </td>
                    <td>
                      {differ ? (
                        <label>
                          <input type="radio" name={`keep-${f.name}`} checked={taken} onChange={() => pick(true)} aria-label={`${label}: ${t("merge.duplicate")}`} /> {showValue(f, theirs, t)}
                        </label>
                      ) : (
                        showValue(f, theirs, t)
                      )}
                    </td>
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

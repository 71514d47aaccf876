import { useState, type FormEvent } from "react";
import { asProblem, api, ApiProblem, ok, type R } from "../../api/client";
import { users } from "../../api/settings";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";

/** Hands the customer to another salesperson, with the kinds of open activities that follow. */
export function HandOver({ id, onDone }: { id: string; onDone: () => void }) {
  const t = useT();
  const people = useLoad(users, []);
  const [to, setTo] = useState("");
  const [activities, setActivities] = useState<R["ActivityKind"][]>(["task"]);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      const outcome = await ok(api().records.POST("/customers/{id}/hand-over", { params: { path: { id } }, body: { to, activities } }));
      setProblem(null);
      setDone(t("handOver.done").replace("{moved}", String(outcome.moved_activities.length)));
      onDone();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const toggle = (kind: R["ActivityKind"], on: boolean) => setActivities(on ? [...activities, kind] : activities.filter((k) => k !== kind));
  return (
    <FormProblem.Provider value={problem}>
      <form className="panel" onSubmit={submit} aria-label={t("handOver.title")}>
        <Field label={t("handOver.to")} pointer="/to">
          {(fid, d) => (
            <select id={fid} aria-describedby={d} value={to} onChange={(e) => setTo(e.target.value)}>
              <option value="">{t("choose")}</option>
              {(people.data ?? [])
                .filter((u) => u.active)
                .map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name || u.id}
                  </option>
                ))}
            </select>
          )}
        </Field>
        <fieldset>
          <legend>{t("handOver.activities")}</legend>
          {(["task", "care_card", "call", "meeting"] as const).map((kind) => (
            <label key={kind} className="checkbox">
              <input type="checkbox" checked={activities.includes(kind)} onChange={(e) => toggle(kind, e.target.checked)} />
              {t(`handover.move.${kind}` as Key)}
            </label>
          ))}
        </fieldset>
        <ProblemBanner problem={problem} shownPointers={["/to"]} />
        {done && <p role="status">{done}</p>}
        <button type="submit" className="primary" disabled={busy}>
          {t("handOver.submit")}
        </button>
      </form>
    </FormProblem.Provider>
  );
}

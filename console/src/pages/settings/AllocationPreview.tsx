import { useState } from "react";
import { asProblem, api, ok, type ApiProblem, type W } from "../../api/client";
import { settingName, settingsOf, users } from "../../api/settings";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT } from "../../i18n";
import { ModuleSelect } from "../../components/Pickers";

/** The dry run of a module's allocation rules: who each recent record would go to, and why. */
export function AllocationPreview() {
  const t = useT();
  const [module, setModule] = useState("Lead");
  const [records, setRecords] = useState(20);
  const [result, setResult] = useState<W["AllocationPreview"] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const names = useLoad(async () => {
    const [people, rules] = await Promise.all([users(), settingsOf("allocation-rules")]);
    return new Map<string, string>([...people.map((u) => [u.id, u.name || u.id] as const), ...rules.map((r) => [r.id, settingName(r)] as const)]);
  }, [result]);
  const run = async () => {
    try {
      setResult(await ok(api().workflows.GET("/modules/{module}/allocation-preview", { params: { path: { module: module as W["Module"] }, query: { records } } })));
      setProblem(null);
    } catch (e) {
      setProblem(asProblem(e));
    }
  };
  const name = (id: string | null | undefined, none: string) => (id ? (names.data?.get(id) ?? id) : none);
  return (
    <FormProblem.Provider value={problem}>
      <section className="panel" aria-labelledby="allocation-preview">
        <h3 id="allocation-preview">{t("allocation.preview")}</h3>
        <p className="hint">{t("allocation.previewHint")}</p>
        <div className="row">
          <Field label={t("workflows.module")}>{(id, d) => <ModuleSelect id={id} aria-describedby={d} value={module} onChange={setModule} />}</Field>
          <Field label={t("allocation.records")} pointer="/query/records">
            {(id, d) => <input id={id} aria-describedby={d} type="number" min={1} max={100} value={records} onChange={(e) => setRecords(Number(e.target.value))} />}
          </Field>
        </div>
        <button type="button" onClick={run}>
          {t("preview.run")}
        </button>
        <ProblemBanner problem={problem} />
        {result && (
          <table data-testid="allocation-preview">
            <thead>
              <tr>
                <th>{t("preview.record")}</th>
                <th>{t("allocation.wouldGo")}</th>
                <th>{t("allocation.byRule")}</th>
              </tr>
            </thead>
            <tbody>
              {result.records.map((r) => (
                <tr key={r.record}>
                  <td>
                    <code>{r.record}</code>
                  </td>
                  <td>{name(r.owner, t("allocation.toCreator"))}</td>
                  <td>{name(r.rule, r.owner ? t("allocation.defaultOwner") : "—")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </FormProblem.Provider>
  );
}

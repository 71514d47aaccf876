import { Link, useSearchParams } from "react-router-dom";
import { api, ok, type W } from "../../api/client";
import { allPages, modules } from "../../api/modules";
import { ProblemBanner } from "../../components/Problem";
import { Tabs } from "../../components/Tabs";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";

/** How many workflows of a kind may be active in one module at once. */
export const ACTIVE_LIMIT: Record<string, number> = { care: 10, work: 10, scoring: 5, approval: 20 };
const KINDS = ["care", "work", "scoring", "approval"] as const;

export function WorkflowList() {
  const t = useT();
  const [params, setParams] = useSearchParams();
  const module = params.get("module") ?? "Customer";
  const kind = KINDS.find((k) => k === params.get("kind")) ?? "care";
  const moduleList = useLoad(modules, []);
  const list = useLoad(
    () =>
      allPages<W["Workflow"]>((cursor) =>
        ok(api().workflows.GET("/workflows", { params: { query: { module: module as W["Module"], limit: 100, cursor } } })),
      ),
    [module],
  );
  const ofKind = (list.data ?? []).filter((w) => w.kind === kind);
  const active = ofKind.filter((w) => w.status === "active").length;
  const choose = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    next.set(key, value);
    setParams(next);
  };
  return (
    <section>
      <h1>{t("workflows.title")}</h1>
      <div className="toolbar">
        <label>
          {t("workflows.module")}{" "}
          <select value={module} onChange={(e) => choose("module", e.target.value)}>
            {(moduleList.data ?? [{ module: "Customer", label_vi: "Khách hàng" }]).map((m) => (
              <option key={m.module} value={m.module}>
                {t.lang === "vi" ? m.label_vi : m.module}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Tabs label={t("workflows.kind")} tabs={KINDS} selected={kind} onSelect={(k) => choose("kind", k)} title={(k) => t(`kind.${k}` as Key)}>
      <p className="active-count" data-testid="active-count">
        {t("workflows.activeCount")
          .replace("{n}", String(active))
          .replace("{limit}", String(ACTIVE_LIMIT[kind] ?? 10))}
      </p>
      <div className="toolbar">
        <Link className="button primary" to={`/workflows/new?module=${module}&kind=${kind}`}>
          {t("workflows.new")}
        </Link>
        <Link className="button" to={`/samples?module=${module}&kind=${kind}`}>
          {t("workflows.fromSample")}
        </Link>
      </div>
      <ProblemBanner problem={list.problem} onReload={list.reload} />
      {list.loading && <p aria-busy="true">{t("loading")}</p>}
      {!list.loading && ofKind.length === 0 && <p>{t("workflows.none")}</p>}
      {ofKind.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t("workflows.name")}</th>
              <th>{t("workflows.status")}</th>
              <th>{t("workflows.version")}</th>
              <th>{t("workflows.updated")}</th>
            </tr>
          </thead>
          <tbody>
            {ofKind.map((w) => (
              <tr key={w.id}>
                <td>
                  <Link to={`/workflows/${encodeURIComponent(w.id)}`}>{w.definition.name}</Link>
                </td>
                <td>
                  <span className={`badge ${w.status}`}>{t(`status.${w.status}` as Key)}</span>
                </td>
                <td>{w.version}</td>
                <td>{new Date(w.updated.at).toLocaleString(t.locale)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      </Tabs>
    </section>
  );
}

import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, ok, type W } from "../../api/client";
import { ProblemBanner } from "../../components/Problem";
import { Tabs } from "../../components/Tabs";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { ScorePreview } from "./ScorePreview";
import { PreviewPanel } from "./PreviewPanel";
import { RunHistory } from "./RunHistory";
import { describeTrigger } from "./describe";

const DETAIL_TABS = ["preview", "runs", "versions"] as const;

export function WorkflowDetail() {
  const t = useT();
  const { id = "" } = useParams();
  const workflow = useLoad(
    () => ok(api().workflows.GET("/workflows/{id}", { params: { path: { id } } })),
    [id],
  );
  const [tab, setTab] = useState<(typeof DETAIL_TABS)[number]>("preview");
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const w = workflow.data;

  const toggle = async (to: "activate" | "deactivate") => {
    setBusy(true);
    setProblem(null);
    try {
      const path = to === "activate" ? "/workflows/{id}/activate" : "/workflows/{id}/deactivate";
      workflow.setData(await ok(api().workflows.POST(path, { params: { path: { id } } })));
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(false);
    }
  };

  if (!w) {
    return <ProblemBanner problem={workflow.problem} onReload={workflow.reload} />;
  }
  const d = w.definition;
  return (
    <section>
      <p>
        <Link to={`/workflows?module=${d.module}&kind=${w.kind}`}>← {t("workflows.title")}</Link>
      </p>
      <h1>{d.name}</h1>
      <p className="muted">
        {t(`kind.${w.kind}` as Key)} · {d.module} · {t("workflows.version")} {w.version} ·{" "}
        <span className={`badge ${w.status}`} data-testid="workflow-status">
          {t(`status.${w.status}` as Key)}
        </span>
      </p>
      {d.description && <p>{d.description}</p>}
      <dl className="summary">
        <dt>{t("editor.when")}</dt>
        <dd>{describeTrigger(d.trigger, t)}</dd>
        <dt>{t("editor.actions")}</dt>
        <dd>{d.actions?.map((a) => a.name || a.id).join(", ") || "—"}</dd>
      </dl>
      <div className="toolbar">
        {w.status === "active" ? (
          <button type="button" disabled={busy} onClick={() => toggle("deactivate")}>
            {t("workflows.deactivate")}
          </button>
        ) : (
          <button type="button" className="primary" disabled={busy} onClick={() => toggle("activate")}>
            {t("workflows.activate")}
          </button>
        )}
        <Link className="button" to={`/workflows/${encodeURIComponent(id)}/edit`}>
          {t("action.edit")}
        </Link>
      </div>
      <ProblemBanner problem={problem} onReload={workflow.reload} />
      <Tabs label={t("workflows.detailTabs")} tabs={DETAIL_TABS} selected={tab} onSelect={setTab} title={(k) => t(`workflows.tab.${k}` as Key)}>
        {tab === "preview" && (w.kind === "scoring" ? <ScorePreview workflow={w.id} /> : <PreviewPanel workflow={w} />)}
        {tab === "runs" && <RunHistory workflow={id} />}
        {tab === "versions" && <Versions workflow={w} />}
      </Tabs>
    </section>
  );
}

function Versions({ workflow }: { workflow: W["Workflow"] }) {
  const t = useT();
  const id = workflow.id;
  const versions = useLoad(
    () => ok(api().workflows.GET("/workflows/{id}/versions", { params: { path: { id } } })),
    [id, workflow.version],
  );
  const [shown, setShown] = useState<W["WorkflowVersion"] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const open = async (version: number) => {
    try {
      setShown(
        await ok(
          api().workflows.GET("/workflows/{id}/versions/{version}", {
            params: { path: { id, version } },
          }),
        ),
      );
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <div>
      <ProblemBanner problem={versions.problem ?? problem} onReload={versions.reload} />
      <ul className="inline">
        {(versions.data?.versions ?? []).map((v) => (
          <li key={v}>
            <button type="button" onClick={() => open(v)}>
              {t("workflows.version")} {v}
              {v === workflow.version ? ` (${t("workflows.current")})` : ""}
            </button>
          </li>
        ))}
      </ul>
      {shown && (
        <div className="panel">
          <h3>
            {t("workflows.version")} {shown.version}: {shown.definition.name}
          </h3>
          <p>{describeTrigger(shown.definition.trigger, t)}</p>
          <pre className="json">{JSON.stringify(shown.definition, null, 2)}</pre>
        </div>
      )}
    </div>
  );
}

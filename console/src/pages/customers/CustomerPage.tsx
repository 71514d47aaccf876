import { useCallback, useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, ApiProblem, ok, type R } from "../../api/client";
import { moduleSchema, type FieldDef } from "../../api/modules";
import { ProblemBanner } from "../../components/Problem";
import { Tabs } from "../../components/Tabs";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { RunHistory } from "../workflows/RunHistory";
import { ActivityTimeline } from "./ActivityTimeline";
import { PurchaseStats, Sales } from "./CustomerTabs";
import { LayoutForm, RelatedView, summaryOrder } from "./PageLayout";
import { ApprovalPanel } from "../approvals/ApprovalPanel";
import { currentSession } from "../../session";
import { HandOver } from "./HandOver";
import { LoyaltyPanel } from "./LoyaltyPanel";
import { CallPanel } from "./CallPanel";
import { MergePanel } from "./MergePanel";
import { MessagePanel } from "./MessagePanel";
import { Upcoming } from "./Upcoming";
import { RecordEditForm } from "./RecordEditForm";
import { editableFields, fieldLabel, recordTitle, showValue, ValueEditor } from "./values";

type Record = R["Record"];
const TABS = ["activities", "messages", "related", "sales", "stats", "loyalty", "runs", "approvals", "handover", "duplicates"] as const;

/** Seed 003's customer page: detail with quick edit, full edit, clone, delete, and its tabs. */
export function CustomerPage() {
  const t = useT();
  const navigate = useNavigate();
  const { id = "" } = useParams();
  const [record, setRecord] = useState<Record | null>(null);
  const [etag, setEtag] = useState<string>("");
  const [problem, setProblem] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [tab, setTab] = useState<(typeof TABS)[number]>("activities");
  const [called, setCalled] = useState(0);
  const [customising, setCustomising] = useState(false);
  const layout = useLoad(() => ok(api().records.GET("/me/customer-page")), []);
  const schema = useLoad(() => moduleSchema("Customer"), []);
  const fields = schema.data?.fields ?? [];

  const load = useCallback(async () => {
    let answer;
    try {
      answer = await api().records.GET("/records/{module}/{id}", { params: { path: { module: "Customer", id } } });
    } catch (e) {
      setProblem(new ApiProblem(0, { detail: String(e) }));
      return;
    }
    const { data, error, response } = answer;
    if (!data) {
      setProblem(new ApiProblem(response.status, error));
      return;
    }
    setRecord(data);
    setEtag(response.headers.get("ETag") ?? `"${data.revision}"`);
    setProblem(null);
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);

  const saved = (next: Record, nextEtag: string | null) => {
    setRecord(next);
    setEtag(nextEtag ?? `"${next.revision}"`);
  };
  const clone = async () => {
    try {
      const copy = await ok(api().records.POST("/records/{module}/{id}/clone", { params: { path: { module: "Customer", id } }, body: {} }));
      navigate(`/customers/${encodeURIComponent(copy.id)}`);
    } catch (e) {
      setProblem(e);
    }
  };
  const remove = async () => {
    if (!window.confirm(t("customers.confirmDelete"))) return;
    try {
      await ok(api().records.DELETE("/records/{module}/{id}", { params: { path: { module: "Customer", id }, header: { "If-Match": etag } } }));
      navigate("/customers");
    } catch (e) {
      setProblem(e);
    }
  };

  if (!record) return <ProblemBanner problem={problem} onReload={load} />;
  return (
    <section>
      <p>
        <Link to="/customers">← {t("customers.title")}</Link>
      </p>
      <h1>{recordTitle(record.fields, record.id)}</h1>
      <div className="toolbar">
        {/* The full edit sends every editable field: it opens only once the fields are known. */}
        <button type="button" disabled={fields.length === 0} onClick={() => setEditing(!editing)}>
          {editing ? t("action.cancel") : t("action.edit")}
        </button>
        <button type="button" onClick={clone}>
          {t("customers.clone")}
        </button>
        <button type="button" className="danger" onClick={remove}>
          {t("action.delete")}
        </button>
      </div>
      <ProblemBanner problem={problem ?? schema.problem} onReload={load} />
      <CallPanel key={record.id} record={record} fields={fields} onCalled={() => setCalled((n) => n + 1)} />
      {editing ? (
        <RecordEditForm record={record} etag={etag} fields={fields} onSaved={(r, e) => { saved(r, e); setEditing(false); }} onReload={load} />
      ) : (
        <Summary record={record} etag={etag} fields={summaryOrder(fields, layout.data?.summary_fields)} onSaved={saved} onReload={load} />
      )}
      <Tabs label={t("customers.tabs")} tabs={TABS} selected={tab} onSelect={setTab} title={(k) => t(`customers.tab.${k}` as Key)}>
        {/* Read again after a call, which the timeline lists. */}
        {tab === "activities" && <ActivityTimeline key={called} id={id} />}
        {tab === "messages" && <MessagePanel record={record} fields={fields} />}
        {tab === "related" &&
          (customising ? (
            <LayoutForm
              customerFields={fields.filter((f) => f.type !== "score_breakdown" && f.type !== "approval")}
              onDone={() => {
                setCustomising(false);
                void layout.reload();
              }}
              onCancel={() => setCustomising(false)}
            />
          ) : (
            <RelatedView key={layout.data ? JSON.stringify(layout.data) : ""} id={id} onCustomise={() => setCustomising(true)} />
          ))}
        {tab === "sales" && <Sales id={id} />}
        {tab === "stats" && <PurchaseStats id={id} />}
        {tab === "loyalty" && <LoyaltyPanel id={id} onChanged={load} />}
        {tab === "runs" && (
          <>
            <Upcoming module="Customer" id={id} />
            <RunHistory record={id} />
          </>
        )}
        {tab === "approvals" && <ApprovalPanel module="Customer" record={record} user={currentSession()?.user ?? ""} onChanged={load} />}
        {tab === "handover" && <HandOver id={id} onDone={load} />}
        {tab === "duplicates" && <MergePanel record={record} fields={fields} onMerged={load} />}
      </Tabs>
    </section>
  );
}

/** Every field with its value; a pencil edits one field in place (PATCH, If-Match). */
function Summary({ record, etag, fields, onSaved, onReload }: { record: Record; etag: string; fields: FieldDef[]; onSaved: (r: Record, etag: string | null) => void; onReload: () => void }) {
  const t = useT();
  const [editing, setEditing] = useState<string | null>(null);
  const [value, setValue] = useState<unknown>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const editable = new Set(editableFields(fields).map((f) => f.name));
  const save = async (field: string) => {
    const { data, error, response } = await api().records.PATCH("/records/{module}/{id}", {
      params: { path: { module: "Customer", id: record.id }, header: { "If-Match": etag } },
      body: { [field]: value } as R["QuickEdit"],
    });
    if (!data) {
      setProblem(new ApiProblem(response.status, error));
      return;
    }
    setProblem(null);
    setEditing(null);
    onSaved(data, response.headers.get("ETag"));
  };
  return (
    <dl className="summary record" data-testid="record-summary">
      {fields
        .filter((f) => f.type !== "score_breakdown")
        .map((f) => (
          <div key={f.name} className="summary-row">
            <dt>{fieldLabel(f, t.lang)}</dt>
            <dd>
              {editing === f.name ? (
                <form
                  className="inline-form"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void save(f.name);
                  }}
                >
                  <ValueEditor id={`quick-${f.name}`} field={f} value={value} t={t} onChange={setValue} />
                  <label className="sr-only" htmlFor={`quick-${f.name}`}>
                    {fieldLabel(f, t.lang)}
                  </label>
                  <button type="submit" className="primary">
                    {t("action.save")}
                  </button>
                  <button type="button" onClick={() => { setEditing(null); setProblem(null); }}>
                    {t("action.cancel")}
                  </button>
                  {problem && (
                    <div className="field-error" role="alert">
                      {problem.at(`/fields/${f.name}`) ?? <ProblemBanner problem={problem} onReload={onReload} />}
                    </div>
                  )}
                </form>
              ) : (
                <>
                  <span>{showValue(f, record.fields[f.name], t)}</span>
                  {editable.has(f.name) && (
                    <button type="button" className="link" aria-label={`${t("customers.quickEdit")} ${fieldLabel(f, t.lang)}`} onClick={() => { setEditing(f.name); setValue(record.fields[f.name] ?? null); setProblem(null); }}>
                      ✎
                    </button>
                  )}
                </>
              )}
            </dd>
          </div>
        ))}
    </dl>
  );
}

import { useState, type FormEvent } from "react";
import { asProblem, api, ok, type ApiProblem, type R, type W } from "../../api/client";
import { moduleSchema } from "../../api/modules";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { usePages } from "../../components/usePages";
import { useT, type Key } from "../../i18n";
import { recordTitle, showValue, ValueEditor } from "./values";

/** What a user logs by hand from the customer page, and the fields its form asks for. */
const LOGGED = {
  Call: ["Subject", "Direction", "Status", "Phone", "StartedAt", "DurationSeconds", "Description"],
  Meeting: ["Subject", "StartsAt", "EndsAt", "Location", "Status", "Attendees", "Description"],
  Note: ["Title", "Content"],
} as const;
type Logged = keyof typeof LOGGED;

/** What one line of the timeline shows besides the title, per module. */
const DETAILS: Partial<Record<string, string[]>> = {
  Call: ["Direction", "Status", "DurationSeconds"],
  Meeting: ["Location", "Status"],
  Note: ["Content"],
  Task: ["DueAt", "Status"],
  CareCard: ["CareDate", "Status"],
  Message: ["Channel", "To", "Status"],
};

/** The date an activity sits at in the timeline, as the API orders it. */
const WHEN: Partial<Record<string, string>> = { Call: "StartedAt", Meeting: "StartsAt", Message: "SentAt" };

/**
 * The activity tab: one timeline of the customer's tasks, care cards, calls, meetings and notes
 * and of what the automation did, newest first, a page at a time; calls, meetings and notes
 * are logged from here.
 */
export function ActivityTimeline({ id }: { id: string }) {
  const t = useT();
  const list = usePages((cursor) => ok(api().records.GET("/customers/{id}/activities", { params: { path: { id }, query: { limit: 25, cursor } } })), [id]);
  const [logging, setLogging] = useState<Logged | null>(null);
  return (
    <div data-testid="activities">
      <div className="toolbar">
        {(Object.keys(LOGGED) as Logged[]).map((module) => (
          <button key={module} type="button" aria-expanded={logging === module} onClick={() => setLogging(logging === module ? null : module)}>
            + {t(`activity.log.${module}` as Key)}
          </button>
        ))}
      </div>
      {logging && (
        <LogForm
          key={logging}
          module={logging}
          customer={id}
          onDone={async () => {
            setLogging(null);
            await list.reload();
          }}
          onCancel={() => setLogging(null)}
        />
      )}
      <ProblemBanner problem={list.problem} onReload={list.reload} />
      {!list.loading && list.items.length === 0 && <p>{t("customers.noActivities")}</p>}
      <ul className="timeline">
        {list.items.map((a) => (a.type === "record" ? <RecordLine key={a.id} activity={a} /> : <RunLine key={a.key} run={a} />))}
      </ul>
      {list.more && (
        <button type="button" disabled={list.loading} onClick={list.more}>
          {t("action.more")}
        </button>
      )}
    </div>
  );
}

function RecordLine({ activity }: { activity: Extract<R["Activity"], { type: "record" }> }) {
  const t = useT();
  const schema = useLoad(() => moduleSchema(activity.module), [activity.module]);
  const fields = schema.data?.fields ?? [];
  const details = (DETAILS[activity.module] ?? []).filter((name) => activity.fields[name] != null && activity.fields[name] !== "");
  const own = WHEN[activity.module];
  const when = own && activity.fields[own] ? own : "CreatedAt";
  return (
    <li data-module={activity.module}>
      <strong>{t(`module.${activity.module}` as Key)}</strong> {recordTitle(activity.fields, activity.id)}{" "}
      {details.map((name) => (
        <span key={name} className="muted">
          · {name === "DurationSeconds" ? t("activity.seconds").replace("{n}", String(activity.fields[name])) : showValue(fields.find((f) => f.name === name), activity.fields[name], t)}
        </span>
      ))}{" "}
      <span className="muted">({showValue(fields.find((f) => f.name === when), activity.fields[when], t)})</span>
    </li>
  );
}

function RunLine({ run }: { run: Extract<R["Activity"], { type: "automation" }> }) {
  const t = useT();
  return (
    <li>
      <strong>{t("customers.automation")}</strong> {run.action} ({run.kind}) — <span className={`badge run-${run.status}`}>{t(`run.${run.status}` as Key)}</span>{" "}
      <span className="muted">{new Date(run.updated_at).toLocaleString(t.locale)}</span>
    </li>
  );
}

/** A call, meeting or note logged on the customer: its own fields, saved as a record of its module. */
function LogForm({ module, customer, onDone, onCancel }: { module: Logged; customer: string; onDone: () => void; onCancel: () => void }) {
  const t = useT();
  const schema = useLoad(() => moduleSchema(module), [module]);
  const [values, setValues] = useState<Record<string, unknown>>(module === "Meeting" || module === "Call" ? { Status: module === "Meeting" ? "Planned" : "Ended" } : {});
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const fields = (LOGGED[module] as readonly string[]).flatMap((name) => schema.data?.fields.filter((f) => f.name === name) ?? []);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      await ok(api().records.POST("/records/{module}", { params: { path: { module: module as W["Module"] } }, body: { ...values, Customer: customer } }));
      onDone();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormProblem.Provider value={problem}>
      <form noValidate className="panel" onSubmit={save} aria-label={t(`activity.log.${module}` as Key)}>
        <ProblemBanner problem={schema.problem} onReload={schema.reload} />
        {fields.map((f) => (
          <Field key={f.name} label={t.lang === "en" ? f.label_en : f.label_vi} pointer={`/fields/${f.name}`}>
            {(id, d) => <ValueEditor id={id} describedBy={d} field={f} value={values[f.name]} onChange={(v) => setValues({ ...values, [f.name]: v })} t={t} />}
          </Field>
        ))}
        <ProblemBanner problem={problem} />
        <div className="toolbar">
          <button type="submit" className="primary" disabled={busy}>
            {t("action.save")}
          </button>
          <button type="button" onClick={onCancel}>
            {t("action.cancel")}
          </button>
        </div>
      </form>
    </FormProblem.Provider>
  );
}

import { useEffect, useState, type FormEvent } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router-dom";
import { asProblem, api, ApiProblem, ok, type W } from "../../api/client";
import { moduleSchema } from "../../api/modules";
import { settingName, settingsOf, users } from "../../api/settings";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { Tabs } from "../../components/Tabs";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { ActionForm, newAction, NEW_ACTION_KINDS, type Choices } from "./ActionForms";
import { ConditionBuilder } from "./ConditionBuilder";
import { TriggerForm } from "./TriggerForm";

type Definition = W["WorkflowDefinition"];
const STEPS = ["when", "condition", "actions"] as const;

function blank(module: string, kind: string): Definition {
  const trigger: W["Trigger"] =
    kind === "work"
      ? { type: "record_event", on: "created_or_updated", watched_fields: [], repeat_on_every_edit: false }
      : { type: "time", date_field: "", recurrence: "yearly", time_of_day: "08:00:00" };
  return { module: module as W["Module"], name: "", description: "", trigger, condition: { type: "all_records" }, actions: [] };
}

async function loadChoices(): Promise<Choices> {
  const [providers, smsTemplates, senders, emailTemplates, people] = await Promise.all([
    settingsOf("sms-providers"),
    settingsOf("sms-templates"),
    settingsOf("email-senders"),
    settingsOf("email-templates"),
    users(),
  ]);
  const choice = (s: W["Setting"]) => ({
    id: s.id,
    label: settingName(s),
    module: "module" in s && typeof s.module === "string" ? s.module : undefined,
  });
  return {
    sms_provider: providers.map(choice),
    sms_template: smsTemplates.map(choice),
    email_sender: senders.map(choice),
    email_template: emailTemplates.map(choice),
    users: people.filter((u) => u.active).map((u) => ({ id: u.id, label: u.name || u.id })),
  };
}

/** The three steps of the screens: When, Condition, Actions; then Save. */
export function WorkflowEditor() {
  const t = useT();
  const navigate = useNavigate();
  const { id } = useParams();
  const [params] = useSearchParams();
  const [definition, setDefinition] = useState<Definition | null>(null);
  const [etag, setEtag] = useState<string | undefined>();
  const [step, setStep] = useState<(typeof STEPS)[number]>("when");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [saving, setSaving] = useState(false);
  const [loadProblem, setLoadProblem] = useState<unknown>(null);

  const load = async () => {
    if (!id) {
      setDefinition(blank(params.get("module") ?? "Customer", params.get("kind") ?? "care"));
      return;
    }
    try {
      const { data, error, response } = await api().workflows.GET("/workflows/{id}", { params: { path: { id } } });
      if (!data) throw new ApiProblem(response.status, error);
      setDefinition(data.definition);
      setEtag(response.headers.get("ETag") ?? `"${data.revision}"`);
      setProblem(null);
    } catch (e) {
      setLoadProblem(e);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);

  // After a 412 the draft stays as typed: only the revision it will replace is read again
  // (the versions tab shows what the other person saved).
  const refreshEtag = async () => {
    if (!id) return;
    try {
      const { data, error, response } = await api().workflows.GET("/workflows/{id}", { params: { path: { id } } });
      if (!data) throw new ApiProblem(response.status, error);
      setEtag(response.headers.get("ETag") ?? `"${data.revision}"`);
      setProblem(null);
    } catch (e) {
      setProblem(asProblem(e));
    }
  };
  const module = definition?.module ?? "Customer";
  const schema = useLoad(() => moduleSchema(module), [module]);
  const choices = useLoad(loadChoices, []);
  const fields = schema.data?.fields ?? [];

  if (!definition) return <ProblemBanner problem={loadProblem} onReload={load} />;
  const set = (patch: Partial<Definition>) => setDefinition({ ...definition, ...patch });
  const actions = definition.actions ?? [];

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    try {
      if (id) {
        await ok(api().workflows.PUT("/workflows/{id}", { params: { path: { id }, header: { "If-Match": etag ?? "" } }, body: definition }));
        navigate(`/workflows/${encodeURIComponent(id)}`);
      } else {
        const created = await ok(api().workflows.POST("/workflows", { body: definition }));
        navigate(`/workflows/${encodeURIComponent(created.id)}`);
      }
    } catch (err) {
      // The form keeps every value: the user fixes what is pointed at and saves again.
      const p = asProblem(err);
      setProblem(p);
      const first = p.errors[0]?.path ?? "";
      if (first.startsWith("/trigger")) setStep("when");
      else if (first.startsWith("/condition")) setStep("condition");
      else if (first.startsWith("/actions")) setStep("actions");
    } finally {
      setSaving(false);
    }
  };

  const stepHas = (s: (typeof STEPS)[number]) =>
    problem?.errors.some((e) => e.path.startsWith(s === "when" ? "/trigger" : `/${s}`)) ?? false;

  return (
    <FormProblem.Provider value={problem}>
      <form onSubmit={save} className="editor" aria-labelledby="editor-title">
        <h1 id="editor-title">{id ? t("editor.editTitle") : t("editor.newTitle")}</h1>
        <ProblemBanner problem={schema.problem ?? choices.problem} />
        <Field label={t("workflows.name")} pointer="/name">
          {(fid, d) => <input id={fid} aria-describedby={d} value={definition.name} onChange={(e) => set({ name: e.target.value })} />}
        </Field>
        <Field label={t("workflows.description")} pointer="/description">
          {(fid, d) => <textarea id={fid} aria-describedby={d} rows={2} value={definition.description ?? ""} onChange={(e) => set({ description: e.target.value })} />}
        </Field>
        <Tabs label={t("editor.steps")} tabs={STEPS} selected={step} onSelect={setStep} title={(s) => t(`editor.${s}` as Key)} flagged={stepHas} numbered>
          {step === "when" && <TriggerForm trigger={definition.trigger} fields={fields} onChange={(trigger) => set({ trigger })} />}
          {step === "condition" && (
            <ConditionBuilder
              value={definition.condition ?? { type: "all_records" }}
              onChange={(condition) => set({ condition })}
              fields={fields}
              withChanges={definition.trigger.type === "record_event"}
            />
          )}
          {step === "actions" && (
            <fieldset>
              <legend>{t("editor.actions")}</legend>
              {actions.map((action, i) => (
                <div key={action.id} className="panel action">
                  <h3>
                    {i + 1}. {t(`actionKind.${action.kind}` as Key)}
                  </h3>
                  <ActionForm
                    action={action}
                    index={i}
                    module={module}
                    fields={fields}
                    choices={choices.data ?? { sms_provider: [], sms_template: [], email_sender: [], email_template: [], users: [] }}
                    onChange={(a) => set({ actions: actions.map((x, j) => (j === i ? a : x)) })}
                  />
                  <button type="button" onClick={() => set({ actions: actions.filter((_, j) => j !== i) })}>
                    {t("editor.removeAction")}
                  </button>
                </div>
              ))}
              <div className="toolbar">
                {NEW_ACTION_KINDS.map((kind) => (
                  <button key={kind} type="button" onClick={() => set({ actions: [...actions, newAction(kind, actions)] })}>
                    + {t(`actionKind.${kind}` as Key)}
                  </button>
                ))}
              </div>
            </fieldset>
          )}
        </Tabs>
        <ProblemBanner problem={problem} onReload={id ? refreshEtag : undefined} />
        <div className="toolbar">
          <button type="submit" className="primary" disabled={saving}>
            {t("action.save")}
          </button>
        </div>
      </form>
    </FormProblem.Provider>
  );
}

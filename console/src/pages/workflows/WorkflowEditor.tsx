import { useEffect, useState, type FormEvent } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router-dom";
import { asProblem, api, ApiProblem, ok, type W } from "../../api/client";
import { moduleSchema } from "../../api/modules";
import { settingName, settingsOf, users } from "../../api/settings";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { Tabs } from "../../components/Tabs";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { ActionForm, newAction, NEW_ACTION_KINDS, NO_CHOICES, type Choices } from "./ActionForms";
import { ActionOutcomes, forgetAction } from "./ApprovalForm";
import { ConditionBuilder } from "./ConditionBuilder";
import { TriggerForm } from "./TriggerForm";

type Definition = W["WorkflowDefinition"];
const STEPS = ["when", "condition", "actions"] as const;
/** The first step's name, for the kinds whose first step is not a time or an event. */
const WHEN_TITLES: Partial<Record<W["Trigger"]["type"], Key>> = { score: "editor.when.score", approval: "editor.when.approval" };

/** The step that shows a pointer's input: an approval's outcome lists sit with the actions. */
function stepOf(pointer: string): (typeof STEPS)[number] | null {
  if (/^\/trigger\/on_(submit|approve|reject|recall)(\/|$)/.test(pointer)) return "actions";
  if (pointer.startsWith("/trigger")) return "when";
  if (pointer.startsWith("/condition")) return "condition";
  if (pointer.startsWith("/actions")) return "actions";
  return null;
}

function blankTrigger(kind: string): W["Trigger"] {
  switch (kind) {
    case "work":
      return { type: "record_event", on: "created_or_updated", watched_fields: [], repeat_on_every_edit: false };
    case "scoring":
      return { type: "score", score_field: "", criteria: [{ name: "", points: 10, condition: { type: "all_records" } }] };
    case "approval":
      return {
        type: "approval",
        priority: 0,
        submitters: { owner: true, users: [], roles: [] },
        steps: [{ name: "", kind: "approve", decide: "first", approvers: [{ type: "submitter_manager" }] }],
        on_submit: [],
        on_approve: [],
        on_reject: [],
        on_recall: [],
      };
    default:
      return { type: "time", date_field: "", recurrence: "yearly", time_of_day: "08:00:00" };
  }
}

function blank(module: string, kind: string): Definition {
  return { module: module as W["Module"], name: "", description: "", trigger: blankTrigger(kind), condition: { type: "all_records" }, actions: [] };
}

async function loadChoices(): Promise<Choices> {
  const [providers, smsTemplates, senders, emailTemplates, znsProviders, znsTemplates, rules, printTemplates, people] = await Promise.all([
    settingsOf("sms-providers"),
    settingsOf("sms-templates"),
    settingsOf("email-senders"),
    settingsOf("email-templates"),
    settingsOf("zns-providers"),
    settingsOf("zns-templates"),
    settingsOf("allocation-rules"),
    settingsOf("print-templates"),
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
    zns_provider: znsProviders.map(choice),
    zns_template: znsTemplates.map((s) => ({ ...choice(s), parameters: "parameters" in s && Array.isArray(s.parameters) ? s.parameters : [] })),
    allocation_rule: rules.map(choice),
    print_template: printTemplates.map(choice),
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
  const trigger = definition.trigger;
  // A scoring rule has no actions; an approval workflow's run on the outcomes that name them.
  const steps = trigger.type === "score" ? STEPS.filter((s) => s !== "actions") : STEPS;
  const stepTitle = (s: (typeof STEPS)[number]) => t((s === "when" && trigger.type in WHEN_TITLES ? WHEN_TITLES[trigger.type] : `editor.${s}`) as Key);
  const addAction = (kind: (typeof NEW_ACTION_KINDS)[number]) => {
    const action = newAction(kind, actions);
    set({ actions: [...actions, action], trigger: trigger.type === "approval" ? { ...trigger, on_approve: [...(trigger.on_approve ?? []), action.id] } : trigger });
  };
  const removeAction = (i: number) => {
    const gone = actions[i].id;
    set({ actions: actions.filter((_, j) => j !== i), trigger: trigger.type === "approval" ? forgetAction(trigger, gone) : trigger });
  };

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
      const first = stepOf(p.errors[0]?.path ?? "");
      if (first) setStep(first);
    } finally {
      setSaving(false);
    }
  };

  const stepHas = (s: (typeof STEPS)[number]) => problem?.errors.some((e) => stepOf(e.path) === s) ?? false;

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
        <Tabs label={t("editor.steps")} tabs={steps} selected={step} onSelect={setStep} title={stepTitle} flagged={stepHas} numbered>
          {step === "when" && <TriggerForm trigger={trigger} fields={fields} choices={choices.data ?? NO_CHOICES} module={module} onChange={(next) => set({ trigger: next })} />}
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
                    choices={choices.data ?? NO_CHOICES}
                    onChange={(a) => set({ actions: actions.map((x, j) => (j === i ? a : x)) })}
                  />
                  {trigger.type === "approval" && <ActionOutcomes trigger={trigger} action={action.id} index={i} onChange={(next) => set({ trigger: next })} />}
                  <button type="button" onClick={() => removeAction(i)}>
                    {t("editor.removeAction")}
                  </button>
                </div>
              ))}
              <div className="toolbar">
                {NEW_ACTION_KINDS.filter((kind) => kind !== "care_card" || module === "Order").map((kind) => (
                  <button key={kind} type="button" onClick={() => addAction(kind)}>
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

import type { W } from "../../api/client";
import { fieldLabel, ROLES, type FieldDef } from "../../api/modules";
import { Field, PointerMessage } from "../../components/Problem";
import { useT, type Key } from "../../i18n";
import type { Choice } from "./ActionForms";
import { ConditionBuilder } from "./ConditionBuilder";

type ApprovalTrigger = Extract<W["Trigger"], { type: "approval" }>;
type Step = W["ApprovalStep"];
type Approver = W["Approver"];
const APPROVER_TYPES = ["user", "role", "submitter_manager", "owner_manager", "user_field"] as const;

function newApprover(type: Approver["type"], users: Choice[], fields: FieldDef[]): Approver {
  switch (type) {
    case "user":
      return { type, user: users[0]?.id ?? "" };
    case "role":
      return { type, role: "administrator" };
    case "user_field":
      return { type, field: fields.find((f) => f.type === "user")?.name ?? "Owner" };
    default:
      return { type };
  }
}

/**
 * The "When" of an approval workflow: who may submit, the steps in order (who decides, how, by
 * when, and when a step applies), and the sender of the approvers' emails.
 */
export function ApprovalForm({
  trigger,
  onChange,
  fields,
  users,
  senders,
  module,
}: {
  trigger: ApprovalTrigger;
  onChange: (t: ApprovalTrigger) => void;
  fields: FieldDef[];
  users: Choice[];
  senders: Choice[];
  module: string;
}) {
  const t = useT();
  const set = (patch: Partial<ApprovalTrigger>) => onChange({ ...trigger, ...patch });
  const submitters = trigger.submitters ?? { owner: true, users: [], roles: [] };
  const steps = trigger.steps ?? [];
  const change = (i: number, s: Step) => set({ steps: steps.map((x, j) => (j === i ? s : x)) });
  return (
    <fieldset>
      <legend>{t("approval.title")}</legend>
      <p className="hint">{t("approval.hint")}</p>
      <Field label={t("approval.priority")} pointer="/trigger/priority" hint={t("approval.priorityHint")}>
        {(id, d) => <input id={id} aria-describedby={d} type="number" min={0} value={trigger.priority ?? 0} onChange={(e) => set({ priority: Number(e.target.value) })} />}
      </Field>
      <fieldset>
        <legend>{t("approval.submitters")}</legend>
        <label className="checkbox">
          <input type="checkbox" checked={submitters.owner ?? true} onChange={(e) => set({ submitters: { ...submitters, owner: e.target.checked } })} />
          {t("approval.submitterOwner")}
        </label>
        {ROLES.map((role) => (
          <label key={role} className="checkbox">
            <input
              type="checkbox"
              checked={(submitters.roles ?? []).includes(role)}
              onChange={(e) => set({ submitters: { ...submitters, roles: e.target.checked ? [...(submitters.roles ?? []), role] : (submitters.roles ?? []).filter((r) => r !== role) } })}
            />
            {t(`role.${role}` as Key)}
          </label>
        ))}
        <Field label={t("approval.submitterUsers")} pointer="/trigger/submitters/users">
          {(id, d) => (
            <select id={id} aria-describedby={d} multiple value={submitters.users ?? []} onChange={(e) => set({ submitters: { ...submitters, users: Array.from(e.target.selectedOptions, (o) => o.value) } })}>
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </fieldset>
      {steps.map((s, i) => (
        <StepForm key={i} at={`/trigger/steps/${i}`} index={i} step={s} onChange={(x) => change(i, x)} onRemove={() => set({ steps: steps.filter((_, j) => j !== i) })} fields={fields} users={users} module={module} />
      ))}
      <button type="button" onClick={() => set({ steps: [...steps, { name: "", kind: "approve", decide: "first", approvers: [{ type: "submitter_manager" }] }] })}>
        + {t("approval.addStep")}
      </button>
      <Field label={t("approval.emailSender")} pointer="/trigger/email_sender" hint={t("approval.emailSenderHint")}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={trigger.email_sender ?? ""} onChange={(e) => set({ email_sender: e.target.value || undefined })}>
            <option value="">{t("approval.inAppOnly")}</option>
            {senders.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        )}
      </Field>
    </fieldset>
  );
}

function StepForm({
  at,
  index,
  step,
  onChange,
  onRemove,
  fields,
  users,
  module,
}: {
  at: string;
  index: number;
  step: Step;
  onChange: (s: Step) => void;
  onRemove: () => void;
  fields: FieldDef[];
  users: Choice[];
  module: string;
}) {
  const t = useT();
  const set = (patch: Partial<Step>) => onChange({ ...step, ...patch });
  const approvers = step.approvers ?? [];
  const changeApprover = (j: number, a: Approver) => set({ approvers: approvers.map((x, k) => (k === j ? a : x)) });
  return (
    <div className="panel" data-testid="approval-step">
      <h3>
        {t("approval.step")} {index + 1}
      </h3>
      <div className="row">
        <Field label={t("approval.stepName")} pointer={`${at}/name`}>
          {(id, d) => <input id={id} aria-describedby={d} value={step.name} onChange={(e) => set({ name: e.target.value })} />}
        </Field>
        <Field label={t("approval.stepKind")} pointer={`${at}/kind`}>
          {(id, d) => (
            <select id={id} aria-describedby={d} value={step.kind ?? "approve"} onChange={(e) => set({ kind: e.target.value as Step["kind"] })}>
              <option value="approve">{t("approval.kind.approve")}</option>
              {module === "Order" && <option value="record">{t("approval.kind.record")}</option>}
            </select>
          )}
        </Field>
        <Field label={t("approval.decide")} pointer={`${at}/decide`}>
          {(id, d) => (
            <select id={id} aria-describedby={d} value={step.decide ?? "first"} onChange={(e) => set({ decide: e.target.value as Step["decide"] })}>
              <option value="first">{t("approval.decide.first")}</option>
              <option value="all">{t("approval.decide.all")}</option>
            </select>
          )}
        </Field>
      </div>
      <fieldset>
        <legend>{t("approval.approvers")}</legend>
        {approvers.map((a, j) => (
          <div className="row" key={j}>
            <Field label={t("approval.approverType")} pointer={`${at}/approvers/${j}`}>
              {(id, d) => (
                <select id={id} aria-describedby={d} value={a.type} onChange={(e) => changeApprover(j, newApprover(e.target.value as Approver["type"], users, fields))}>
                  {APPROVER_TYPES.map((type) => (
                    <option key={type} value={type}>
                      {t(`approval.approver.${type}` as Key)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {a.type === "user" && (
              <Field label={t("approval.approverUser")} pointer={`${at}/approvers/${j}/user`}>
                {(id, d) => (
                  <select id={id} aria-describedby={d} value={a.user} onChange={(e) => changeApprover(j, { type: "user", user: e.target.value })}>
                    <option value="">{t("choose")}</option>
                    {users.map((u) => (
                      <option key={u.id} value={u.id}>
                        {u.label}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
            {a.type === "role" && (
              <Field label={t("approval.approverRole")} pointer={`${at}/approvers/${j}/role`}>
                {(id, d) => (
                  <select id={id} aria-describedby={d} value={a.role} onChange={(e) => changeApprover(j, { type: "role", role: e.target.value as (typeof ROLES)[number] })}>
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`role.${r}` as Key)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
            {a.type === "user_field" && (
              <Field label={t("approval.approverField")} pointer={`${at}/approvers/${j}/field`}>
                {(id, d) => (
                  <select id={id} aria-describedby={d} value={a.field} onChange={(e) => changeApprover(j, { type: "user_field", field: e.target.value })}>
                    {fields.filter((f) => f.type === "user").map((f) => (
                      <option key={f.name} value={f.name}>
                        {fieldLabel(f, t.lang)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
            {approvers.length > 1 && (
              <button type="button" onClick={() => set({ approvers: approvers.filter((_, k) => k !== j) })}>
                {t("action.remove")}
              </button>
            )}
          </div>
        ))}
        <button type="button" onClick={() => set({ approvers: [...approvers, newApprover("user", users, fields)] })}>
          + {t("approval.addApprover")}
        </button>
      </fieldset>
      <label className="checkbox">
        <input type="checkbox" checked={!!step.deadline} onChange={(e) => set({ deadline: e.target.checked ? { hours: 24, escalate: false } : undefined })} />
        {t("approval.hasDeadline")}
      </label>
      {step.deadline && (
        <div className="row">
          <Field label={t("approval.deadlineHours")} pointer={`${at}/deadline/hours`}>
            {(id, d) => <input id={id} aria-describedby={d} type="number" min={1} max={2160} value={step.deadline?.hours ?? 24} onChange={(e) => set({ deadline: { ...step.deadline, hours: Number(e.target.value) } })} />}
          </Field>
          <Field label={t("approval.remindBefore")} pointer={`${at}/deadline/remind_before_hours`}>
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                type="number"
                min={1}
                value={step.deadline?.remind_before_hours ?? ""}
                onChange={(e) => set({ deadline: { hours: step.deadline?.hours ?? 24, ...step.deadline, remind_before_hours: e.target.value === "" ? undefined : Number(e.target.value) } })}
              />
            )}
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={step.deadline.escalate ?? false} onChange={(e) => set({ deadline: { hours: step.deadline?.hours ?? 24, ...step.deadline, escalate: e.target.checked } })} />
            {t("approval.escalate")}
          </label>
        </div>
      )}
      <label className="checkbox">
        <input type="checkbox" checked={!!step.condition} onChange={(e) => set({ condition: e.target.checked ? { type: "all_records" } : undefined })} />
        {t("approval.stepWhen")}
      </label>
      {step.condition && <ConditionBuilder value={step.condition} onChange={(condition) => set({ condition })} fields={fields} withChanges={false} pointer={`${at}/condition`} />}
      <button type="button" onClick={onRemove}>
        {t("approval.removeStep")}
      </button>
    </div>
  );
}

const OUTCOMES = ["on_submit", "on_approve", "on_reject", "on_recall"] as const;

/** When an approval workflow's action runs: the outcomes whose lists name it. */
export function ActionOutcomes({ trigger, action, index, onChange }: { trigger: ApprovalTrigger; action: string; index: number; onChange: (t: ApprovalTrigger) => void }) {
  const t = useT();
  return (
    <fieldset>
      <legend>{t("approval.runsOn")}</legend>
      {OUTCOMES.map((o) => {
        const list = trigger[o] ?? [];
        return (
          <label key={o} className="checkbox">
            <input type="checkbox" checked={list.includes(action)} onChange={(e) => onChange({ ...trigger, [o]: e.target.checked ? [...list, action] : list.filter((x) => x !== action) })} />
            {t(`approval.${o}` as Key)}
          </label>
        );
      })}
      <PointerMessage pointer={`/actions/${index}`} />
    </fieldset>
  );
}

/** An approval trigger without the ids of an action removed from the workflow. */
export function forgetAction(trigger: ApprovalTrigger, action: string): ApprovalTrigger {
  const next = { ...trigger };
  for (const o of OUTCOMES) next[o] = (trigger[o] ?? []).filter((x) => x !== action);
  return next;
}

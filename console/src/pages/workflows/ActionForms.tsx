import type { W } from "../../api/client";
import { fieldLabel, type FieldDef } from "../../api/modules";
import { ListInput } from "../../components/ListInput";
import { Field } from "../../components/Problem";
import { useT } from "../../i18n";
import { MergeText } from "./MergeText";
import { CareCardForm, HandoverForm, UpdateFieldsForm, ZnsForm } from "./MoreActionForms";

type Action = W["Action"];
export interface Choice {
  id: string;
  label: string;
  module?: string;
}
/** What the action forms pick from: the tenant's settings by kind, and its users. */
export interface Choices {
  sms_provider: Choice[];
  sms_template: Choice[];
  email_sender: Choice[];
  email_template: Choice[];
  zns_provider: Choice[];
  zns_template: (Choice & { parameters: string[] })[];
  allocation_rule: Choice[];
  print_template: Choice[];
  users: Choice[];
}

export const NO_CHOICES: Choices = { sms_provider: [], sms_template: [], email_sender: [], email_template: [], zns_provider: [], zns_template: [], allocation_rule: [], print_template: [], users: [] };

export const NEW_ACTION_KINDS = ["sms", "email", "task", "notification", "update_fields", "handover", "zns", "care_card"] as const;

/** A new action with an id no action of the workflow has (ids line run history up). */
export function newAction(kind: (typeof NEW_ACTION_KINDS)[number], existing: Action[]): Action {
  let n = existing.length + 1;
  while (existing.some((a) => a.id === `${kind}-${n}`)) n += 1;
  const id = `${kind}-${n}`;
  switch (kind) {
    case "sms":
      return { kind, id, name: "SMS", provider: "", template: "", recipient_fields: [], users: [] };
    case "email":
      return { kind, id, name: "Email", sender: "", template: "", recipient_fields: [], users: [] };
    case "task":
      return { kind, id, name: "Nhiệm vụ", title: "", due: { days_after: 0 }, task_type: "Call", priority: "Normal", assignee: { type: "record_owner" } };
    case "notification":
      return { kind, id, name: "Thông báo", message: "", notify_owner: true, users: [] };
    case "update_fields":
      return { kind, id, name: "Cập nhật trường", values: [] };
    case "handover":
      return { kind, id, name: "Bàn giao", to: { type: "user", user_id: "" }, move_open_activities: [], notify_new_owner: true };
    case "zns":
      return { kind, id, name: "Zalo ZNS", provider: "", template: "", recipient_field: { field: "" }, parameters: {}, users: [] };
    case "care_card":
      return { kind, id, name: "Phiếu chăm sóc", based_on: { type: "order" }, owner: { type: "order_salesperson" }, layout: "Mặc định", care_date: { days_after: 0 } };
  }
}

/** One action's form, by kind. */
export function ActionForm({
  action,
  index,
  onChange,
  fields,
  choices,
  module,
}: {
  action: Action;
  index: number;
  onChange: (a: Action) => void;
  fields: FieldDef[];
  choices: Choices;
  module: string;
}) {
  const t = useT();
  const p = `/actions/${index}`;
  const common = (
    <Field label={t("action.name")} pointer={`${p}/name`}>
      {(id, d) => <input id={id} aria-describedby={d} value={action.name} onChange={(e) => onChange({ ...action, name: e.target.value })} />}
    </Field>
  );
  const ofModule = (list: Choice[]) => list.filter((c) => !c.module || c.module === module);
  const phoneFields = fields.filter((f) => f.type === "phone");
  const emailFields = fields.filter((f) => f.type === "email");
  switch (action.kind) {
    case "sms":
      return (
        <>
          {common}
          <Picker label={t("action.provider")} pointer={`${p}/provider`} value={action.provider} options={choices.sms_provider} onChange={(provider) => onChange({ ...action, provider })} />
          <Picker label={t("action.template")} pointer={`${p}/template`} value={action.template} options={ofModule(choices.sms_template)} onChange={(template) => onChange({ ...action, template })} />
          <FieldPicker label={t("action.recipientFields")} pointer={`${p}/recipient_fields`} fields={phoneFields} value={action.recipient_fields ?? []} onChange={(recipient_fields) => onChange({ ...action, recipient_fields })} />
          <MultiPicker label={t("action.users")} pointer={`${p}/users`} options={choices.users} value={action.users ?? []} onChange={(users) => onChange({ ...action, users })} />
        </>
      );
    case "email":
      return (
        <>
          {common}
          <Picker label={t("action.sender")} pointer={`${p}/sender`} value={action.sender} options={choices.email_sender} onChange={(sender) => onChange({ ...action, sender })} />
          <Picker label={t("action.template")} pointer={`${p}/template`} value={action.template} options={ofModule(choices.email_template)} onChange={(template) => onChange({ ...action, template })} />
          <FieldPicker label={t("action.recipientFields")} pointer={`${p}/recipient_fields`} fields={emailFields} value={action.recipient_fields ?? []} onChange={(recipient_fields) => onChange({ ...action, recipient_fields })} />
          <MultiPicker label={t("action.users")} pointer={`${p}/users`} options={choices.users} value={action.users ?? []} onChange={(users) => onChange({ ...action, users })} />
          <Addresses label={t("action.extraAddresses")} pointer={`${p}/extra_addresses`} value={action.extra_addresses ?? []} onChange={(extra_addresses) => onChange({ ...action, extra_addresses })} />
          <div className="row">
            <Addresses label="Cc" pointer={`${p}/cc`} value={action.cc ?? []} onChange={(cc) => onChange({ ...action, cc })} />
            <Addresses label="Bcc" pointer={`${p}/bcc`} value={action.bcc ?? []} onChange={(bcc) => onChange({ ...action, bcc })} />
          </div>
          <Attachment pointer={`${p}/attachment`} value={action.attachment ?? null} options={ofModule(choices.print_template)} onChange={(attachment) => onChange({ ...action, attachment })} />
        </>
      );
    case "task": {
      const assignee = action.assignee;
      return (
        <>
          {common}
          <MergeText label={t("action.title")} pointer={`${p}/title`} value={action.title} fields={fields} onChange={(title) => onChange({ ...action, title })} />
          <MergeText label={t("action.description")} pointer={`${p}/description`} value={action.description ?? ""} fields={fields} multiline onChange={(description) => onChange({ ...action, description })} />
          <div className="row">
            <Field label={t("action.dueDays")} pointer={`${p}/due/days_after`}>
              {(id, d) => <input id={id} aria-describedby={d} type="number" min={0} value={action.due.days_after ?? 0} onChange={(e) => onChange({ ...action, due: { ...action.due, days_after: Number(e.target.value) } })} />}
            </Field>
            <Field label={t("action.dueTime")} pointer={`${p}/due/time_of_day`}>
              {(id, d) => <input id={id} aria-describedby={d} type="time" value={(action.due.time_of_day ?? "").slice(0, 5)} onChange={(e) => onChange({ ...action, due: { ...action.due, time_of_day: e.target.value || null } })} />}
            </Field>
          </div>
          <Field label={t("action.assignee")} pointer={`${p}/assignee`}>
            {(id, d) => (
              <select
                id={id}
                aria-describedby={d}
                value={assignee.type === "user" ? `user:${assignee.user_id}` : assignee.type === "field" ? `field:${assignee.field}` : "owner"}
                onChange={(e) => {
                  const [type, rest] = e.target.value.split(/:(.*)/s);
                  onChange({ ...action, assignee: type === "user" ? { type: "user", user_id: rest } : type === "field" ? { type: "field", field: rest } : { type: "record_owner" } });
                }}
              >
                <option value="owner">{t("action.recordOwner")}</option>
                {fields.filter((f) => f.type === "user").map((f) => (
                  <option key={f.name} value={`field:${f.name}`}>
                    {t("action.userInField")} {fieldLabel(f, t.lang)}
                  </option>
                ))}
                {choices.users.map((u) => (
                  <option key={u.id} value={`user:${u.id}`}>
                    {u.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div className="row">
            <Field label={t("action.taskType")} pointer={`${p}/task_type`}>
              {(id, d) => <input id={id} aria-describedby={d} value={action.task_type} onChange={(e) => onChange({ ...action, task_type: e.target.value })} />}
            </Field>
            <Field label={t("action.priority")} pointer={`${p}/priority`}>
              {(id, d) => <input id={id} aria-describedby={d} value={action.priority} onChange={(e) => onChange({ ...action, priority: e.target.value })} />}
            </Field>
          </div>
          <Attachment pointer={`${p}/attachment`} value={action.attachment ?? null} options={ofModule(choices.print_template)} onChange={(attachment) => onChange({ ...action, attachment })} />
        </>
      );
    }
    case "notification":
      return (
        <>
          {common}
          <MergeText label={t("action.message")} pointer={`${p}/message`} value={action.message} fields={fields} multiline onChange={(message) => onChange({ ...action, message })} />
          <label className="checkbox">
            <input type="checkbox" checked={action.notify_owner ?? false} onChange={(e) => onChange({ ...action, notify_owner: e.target.checked })} />
            {t("action.notifyOwner")}
          </label>
          <MultiPicker label={t("action.users")} pointer={`${p}/users`} options={choices.users} value={action.users ?? []} onChange={(users) => onChange({ ...action, users })} />
        </>
      );
    case "update_fields":
      return (
        <>
          {common}
          <UpdateFieldsForm action={action} p={p} fields={fields} onChange={onChange} />
        </>
      );
    case "handover":
      return (
        <>
          {common}
          <HandoverForm action={action} p={p} choices={choices} onChange={onChange} />
        </>
      );
    case "zns":
      return (
        <>
          {common}
          <ZnsForm action={action} p={p} fields={fields} choices={choices} onChange={onChange} />
        </>
      );
    case "care_card":
      return (
        <>
          {common}
          <CareCardForm action={action} p={p} fields={fields} choices={choices} onChange={onChange} />
        </>
      );
  }
}

export function Picker({ label, pointer, value, options, onChange }: { label: string; pointer: string; value: string; options: Choice[]; onChange: (v: string) => void }) {
  const t = useT();
  return (
    <Field label={label} pointer={pointer} hint={options.length === 0 ? t("samples.noneOfKind") : undefined}>
      {(id, d) => (
        <select id={id} aria-describedby={d} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">{t("choose")}</option>
          {options.map((o) => (
            <option key={o.id} value={o.id}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function MultiPicker({ label, pointer, value, options, onChange }: { label: string; pointer: string; value: string[]; options: Choice[]; onChange: (v: string[]) => void }) {
  return (
    <Field label={label} pointer={pointer}>
      {(id, d) => (
        <select id={id} aria-describedby={d} multiple value={value} onChange={(e) => onChange(Array.from(e.target.selectedOptions, (o) => o.value))}>
          {options.map((o) => (
            <option key={o.id} value={o.id}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function FieldPicker({ label, pointer, fields, value, onChange }: { label: string; pointer: string; fields: FieldDef[]; value: W["FieldPath"][]; onChange: (v: W["FieldPath"][]) => void }) {
  const t = useT();
  return (
    <MultiPicker
      label={label}
      pointer={pointer}
      options={fields.map((f) => ({ id: f.name, label: fieldLabel(f, t.lang) }))}
      value={value.filter((v) => !v.via).map((v) => v.field)}
      onChange={(names) => onChange([...value.filter((v) => v.via), ...names.map((field) => ({ field }))])}
    />
  );
}

/** Email addresses typed separated by commas. */
function Addresses({ label, pointer, value, onChange }: { label: string; pointer: string; value: string[]; onChange: (v: string[]) => void }) {
  return <Field label={label} pointer={pointer}>{(id, d) => <ListInput id={id} aria-describedby={d} inputMode="email" separator={/[,;\s]+/} value={value} onChange={onChange} />}</Field>;
}

/** A document printed from a print template and attached, as a PDF or in its own format. */
function Attachment({ pointer, value, options, onChange }: { pointer: string; value: W["PrintAttachment"] | null; options: Choice[]; onChange: (v: W["PrintAttachment"] | null) => void }) {
  const t = useT();
  return (
    <div className="row">
      <Picker label={t("action.attachment")} pointer={`${pointer}/print_template`} value={value?.print_template ?? ""} options={options} onChange={(id) => onChange(id ? { print_template: id, format: value?.format ?? "pdf" } : null)} />
      {value && (
        <Field label={t("action.attachmentFormat")} pointer={`${pointer}/format`}>
          {(id, d) => (
            <select id={id} aria-describedby={d} value={value.format} onChange={(e) => onChange({ ...value, format: e.target.value as W["AttachmentFormat"] })}>
              <option value="pdf">PDF</option>
              <option value="original">{t("action.attachmentOriginal")}</option>
            </select>
          )}
        </Field>
      )}
    </div>
  );
}

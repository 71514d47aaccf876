import { useEffect } from "react";
import type { W } from "../../api/client";
import { fieldLabel, moduleSchema, type FieldDef } from "../../api/modules";
import { ListInput } from "../../components/ListInput";
import { Field, segment } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { ValueEditor } from "../customers/values";
import { MultiPicker, Picker, type Choices } from "./ActionForms";
import { MergeText } from "./MergeText";

type Action = W["Action"];
type Of<K extends Action["kind"]> = Extract<Action, { kind: K }>;
type Assignment = W["FieldAssignment"];

/** Update fields: of the record itself or of the record a reference field leads to. */
export function UpdateFieldsForm({ action, p, fields, onChange }: { action: Of<"update_fields">; p: string; fields: FieldDef[]; onChange: (a: Action) => void }) {
  const t = useT();
  const via = fields.find((f) => f.name === action.via);
  const target = useLoad(() => (via?.module ? moduleSchema(via.module) : Promise.resolve(null)), [via?.module]);
  const targetFields = (via ? (target.data?.fields ?? []) : fields).filter((f) => !f.read_only);
  return (
    <>
      <Field label={t("update.via")} pointer={`${p}/via`}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={action.via ?? ""} onChange={(e) => onChange({ ...action, via: e.target.value || null, values: [] })}>
            <option value="">{t("update.self")}</option>
            {fields.filter((f) => f.type === "reference").map((f) => (
              <option key={f.name} value={f.name}>
                {fieldLabel(f, t.lang)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Assignments at={`${p}/values`} value={action.values} fields={targetFields} mergeFields={fields} onChange={(values) => onChange({ ...action, values })} />
    </>
  );
}

/** Field = value rows: a value typed for the field, a merge text, today (± days), or empty. */
function Assignments({ at, value, fields, mergeFields, onChange }: { at: string; value: Assignment[]; fields: FieldDef[]; mergeFields: FieldDef[]; onChange: (v: Assignment[]) => void }) {
  const t = useT();
  const change = (i: number, a: Assignment) => onChange(value.map((x, j) => (j === i ? a : x)));
  return (
    <fieldset>
      <legend>{t("update.values")}</legend>
      {value.map((a, i) => {
        const field = fields.find((f) => f.name === a.field);
        const v = a.value;
        return (
          <div className="row" key={i}>
            <Field label={t("condition.field")} pointer={`${at}/${i}/field`}>
              {(id, d) => (
                <select id={id} aria-describedby={d} value={a.field} onChange={(e) => change(i, { field: e.target.value, value: { type: "clear" } })}>
                  <option value="">{t("choose")}</option>
                  {fields.map((f) => (
                    <option key={f.name} value={f.name}>
                      {fieldLabel(f, t.lang)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={t("update.how")} pointer={`${at}/${i}/value/type`}>
              {(id, d) => (
                <select
                  id={id}
                  aria-describedby={d}
                  value={v.type}
                  onChange={(e) => {
                    const type = e.target.value as W["AssignedValue"]["type"];
                    change(i, { ...a, value: type === "literal" ? { type, value: null } : type === "merge" ? { type, text: "" } : type === "today" ? { type, offset_days: 0 } : { type: "clear" } });
                  }}
                >
                  {(["literal", "merge", "today", "clear"] as const).map((type) => (
                    <option key={type} value={type}>
                      {t(`update.how.${type}` as Key)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {v.type === "literal" && field && (
              <Field label={t("update.value")} pointer={`${at}/${i}/value/value`}>
                {(id, d) => <ValueEditor id={id} describedBy={d} field={field} value={v.value} onChange={(x) => change(i, { ...a, value: { type: "literal", value: x } })} t={t} />}
              </Field>
            )}
            {v.type === "merge" && <MergeText label={t("update.value")} pointer={`${at}/${i}/value/text`} value={v.text} fields={mergeFields} onChange={(text) => change(i, { ...a, value: { type: "merge", text } })} />}
            {v.type === "today" && (
              <Field label={t("update.offsetDays")} pointer={`${at}/${i}/value/offset_days`}>
                {(id, d) => <input id={id} aria-describedby={d} type="number" value={v.offset_days ?? 0} onChange={(e) => change(i, { ...a, value: { type: "today", offset_days: Number(e.target.value) } })} />}
              </Field>
            )}
            <button type="button" onClick={() => onChange(value.filter((_, j) => j !== i))}>
              {t("action.remove")}
            </button>
          </div>
        );
      })}
      <button type="button" onClick={() => onChange([...value, { field: "", value: { type: "clear" } }])}>
        + {t("update.add")}
      </button>
    </fieldset>
  );
}

/** Hand the record over to a user or by an allocation rule, with its open activities. */
export function HandoverForm({ action, p, choices, onChange }: { action: Of<"handover">; p: string; choices: Choices; onChange: (a: Action) => void }) {
  const t = useT();
  const to = action.to;
  const moved = action.move_open_activities ?? [];
  return (
    <>
      <Field label={t("handover.to")} pointer={`${p}/to`}>
        {(id, d) => (
          <select
            id={id}
            aria-describedby={d}
            value={to.type === "user" ? `user:${to.user_id}` : `rule:${to.rule}`}
            onChange={(e) => {
              const [type, rest] = e.target.value.split(/:(.*)/s);
              onChange({ ...action, to: type === "user" ? { type: "user", user_id: rest } : { type: "allocation_rule", rule: rest } });
            }}
          >
            <option value="user:">{t("choose")}</option>
            {choices.users.map((u) => (
              <option key={u.id} value={`user:${u.id}`}>
                {u.label}
              </option>
            ))}
            {choices.allocation_rule.map((r) => (
              <option key={r.id} value={`rule:${r.id}`}>
                {t("handover.byRule")} {r.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {(["task", "care_card", "call", "meeting"] as const).map((kind) => (
        <label key={kind} className="checkbox">
          <input type="checkbox" checked={moved.includes(kind)} onChange={(e) => onChange({ ...action, move_open_activities: e.target.checked ? [...moved, kind] : moved.filter((k) => k !== kind) })} />
          {t(`handover.move.${kind}` as Key)}
        </label>
      ))}
      <label className="checkbox">
        <input type="checkbox" checked={action.notify_new_owner ?? true} onChange={(e) => onChange({ ...action, notify_new_owner: e.target.checked })} />
        {t("handover.notify")}
      </label>
    </>
  );
}

/** A Zalo ZNS message: provider, template, the phone field, and a merge text per parameter. */
export function ZnsForm({ action, p, fields, choices, onChange }: { action: Of<"zns">; p: string; fields: FieldDef[]; choices: Choices; onChange: (a: Action) => void }) {
  const t = useT();
  const template = choices.zns_template.find((z) => z.id === action.template);
  const parameters = template?.parameters ?? Object.keys(action.parameters ?? {});
  // The template's parameters, all of them and no other, as the API asks: a template edited in
  // the settings since brings its new ones here, blank, and drops the ones it no longer has.
  const aligned = Object.fromEntries(parameters.map((k) => [k, action.parameters?.[k] ?? ""]));
  const stale = JSON.stringify(Object.keys(aligned)) !== JSON.stringify(Object.keys(action.parameters ?? {}));
  useEffect(() => {
    if (template && stale) onChange({ ...action, parameters: aligned });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [template, stale]);
  return (
    <>
      <Picker label={t("zns.provider")} pointer={`${p}/provider`} value={action.provider} options={choices.zns_provider} onChange={(provider) => onChange({ ...action, provider })} />
      <Picker
        label={t("action.template")}
        pointer={`${p}/template`}
        value={action.template}
        options={choices.zns_template}
        onChange={(id) => {
          const next = choices.zns_template.find((z) => z.id === id)?.parameters ?? [];
          onChange({ ...action, template: id, parameters: Object.fromEntries(next.map((k) => [k, action.parameters?.[k] ?? ""])) });
        }}
      />
      <Field label={t("zns.phone")} pointer={`${p}/recipient_field`}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={action.recipient_field?.field ?? ""} onChange={(e) => onChange({ ...action, recipient_field: { field: e.target.value } })}>
            <option value="">{t("choose")}</option>
            {fields.filter((f) => f.type === "phone").map((f) => (
              <option key={f.name} value={f.name}>
                {fieldLabel(f, t.lang)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {parameters.map((k) => (
        <MergeText key={k} label={`${t("zns.parameter")} ${k}`} pointer={`${p}/parameters/${segment(k)}`} value={aligned[k]} fields={fields} onChange={(text) => onChange({ ...action, parameters: { ...aligned, [k]: text } })} />
      ))}
      <MultiPicker label={t("action.users")} pointer={`${p}/users`} options={choices.users} value={action.users ?? []} onChange={(users) => onChange({ ...action, users })} />
    </>
  );
}

/** Care cards for an order: per order, product or category, owned by a user or the salesperson. */
export function CareCardForm({ action, p, fields, choices, onChange }: { action: Of<"care_card">; p: string; fields: FieldDef[]; choices: Choices; onChange: (a: Action) => void }) {
  const t = useT();
  const basis = action.based_on;
  const owner = action.owner;
  const date = action.care_date ?? {};
  const card = useLoad(() => moduleSchema("CareCard"), []);
  return (
    <>
      <Field label={t("card.basedOn")} pointer={`${p}/based_on`}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={basis.type} onChange={(e) => onChange({ ...action, based_on: e.target.value === "order" ? { type: "order" } : { type: e.target.value as "products", only: [] } })}>
            {(["order", "products", "product_categories"] as const).map((b) => (
              <option key={b} value={b}>
                {t(`card.basis.${b}` as Key)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {basis.type !== "order" && (
        <Field label={t("card.only")} pointer={`${p}/based_on/only`} hint={t("card.onlyHint")}>
          {(id, d) => <ListInput id={id} aria-describedby={d} value={basis.only ?? []} onChange={(only) => onChange({ ...action, based_on: { ...basis, only } })} />}
        </Field>
      )}
      <Field label={t("card.owner")} pointer={`${p}/owner`}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={owner.type === "user" ? owner.user_id : ""} onChange={(e) => onChange({ ...action, owner: e.target.value ? { type: "user", user_id: e.target.value } : { type: "order_salesperson" } })}>
            <option value="">{t("card.salesperson")}</option>
            {choices.users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t("card.layout")} pointer={`${p}/layout`}>
        {(id, d) => <input id={id} aria-describedby={d} value={action.layout} onChange={(e) => onChange({ ...action, layout: e.target.value })} />}
      </Field>
      <div className="row">
        <Field label={t("card.from")} pointer={`${p}/care_date/from_field`}>
          {(id, d) => (
            <select id={id} aria-describedby={d} value={date.from_field ?? ""} onChange={(e) => onChange({ ...action, care_date: { ...date, from_field: e.target.value || undefined } })}>
              <option value="">{t("card.fromRun")}</option>
              {fields.filter((f) => f.type === "date" || f.type === "date_time").map((f) => (
                <option key={f.name} value={f.name}>
                  {fieldLabel(f, t.lang)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("action.dueDays")} pointer={`${p}/care_date/days_after`}>
          {(id, d) => <input id={id} aria-describedby={d} type="number" value={date.days_after ?? 0} onChange={(e) => onChange({ ...action, care_date: { ...date, days_after: Number(e.target.value) } })} />}
        </Field>
        <Field label={t("action.dueTime")} pointer={`${p}/care_date/time_of_day`}>
          {(id, d) => <input id={id} aria-describedby={d} type="time" value={(date.time_of_day ?? "").slice(0, 5)} onChange={(e) => onChange({ ...action, care_date: { ...date, time_of_day: e.target.value || undefined } })} />}
        </Field>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={action.notify_owner ?? false} onChange={(e) => onChange({ ...action, notify_owner: e.target.checked })} />
        {t("action.notifyOwner")}
      </label>
      <Assignments at={`${p}/fields`} value={action.fields ?? []} fields={(card.data?.fields ?? []).filter((f) => !f.read_only)} mergeFields={fields} onChange={(v) => onChange({ ...action, fields: v })} />
    </>
  );
}

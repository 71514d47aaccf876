import type { W } from "../../../api/client";
import { Field } from "../../../components/Problem";
import { useT, type Key } from "../../../i18n";
import { ModuleSelect } from "../../../components/Pickers";

type CustomField = W["CustomField"];
const TYPES = ["text", "number", "money", "date", "date_time", "phone", "email", "boolean", "user", "users", "pick_list", "multi_pick_list", "reference"] as const;

/** A kind of field for a type: pick lists bring their options, references their module. */
function kindOf(type: string, previous: W["FieldKind"]): W["FieldKind"] {
  if (type === "pick_list" || type === "multi_pick_list") {
    return { type, options: "options" in previous ? previous.options : [{ value: "", label_vi: "", label_en: "" }] };
  }
  if (type === "reference") return { type, module: "Customer" };
  return { type: type as Extract<W["FieldKind"], { type: "text" }>["type"] };
}

/** The tenant's own fields, per module: name, labels, type (options of a pick list), required. */
export function CustomFields({ value, onChange }: { value: CustomField[]; onChange: (v: CustomField[]) => void }) {
  const t = useT();
  const change = (i: number, patch: Partial<CustomField>) => onChange(value.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  return (
    <fieldset>
      <legend>{t("tenant.customFields")}</legend>
      <p className="hint">{t("tenant.customFieldsHint")}</p>
      {value.map((f, i) => {
        const at = `/custom_fields/${i}`;
        return (
          <div className="panel" key={i} data-testid="custom-field">
            <div className="row">
              <Field label={t("workflows.module")} pointer={`${at}/module`}>
                {(id, d) => <ModuleSelect id={id} aria-describedby={d} value={f.module} onChange={(m) => change(i, { module: m as W["Module"] })} />}
              </Field>
              <Field label={t("tenant.fieldName")} pointer={`${at}/name`}>
                {(id, d) => <input id={id} aria-describedby={d} value={f.name} onChange={(e) => change(i, { name: e.target.value })} />}
              </Field>
              <Field label={t("tenant.labelVi")} pointer={`${at}/label_vi`}>
                {(id, d) => <input id={id} aria-describedby={d} value={f.label_vi} onChange={(e) => change(i, { label_vi: e.target.value })} />}
              </Field>
              <Field label={t("tenant.labelEn")} pointer={`${at}/label_en`}>
                {(id, d) => <input id={id} aria-describedby={d} value={f.label_en} onChange={(e) => change(i, { label_en: e.target.value })} />}
              </Field>
              <Field label={t("tenant.fieldType")} pointer={`${at}/kind`}>
                {(id, d) => (
                  <select id={id} aria-describedby={d} value={f.kind.type} onChange={(e) => change(i, { kind: kindOf(e.target.value, f.kind) })}>
                    {TYPES.map((type) => (
                      <option key={type} value={type}>
                        {t(`fieldType.${type}` as Key)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {f.kind.type === "reference" && "module" in f.kind && (
                <Field label={t("tenant.refersTo")} pointer={`${at}/kind/module`}>
                  {(id, d) => <ModuleSelect id={id} aria-describedby={d} value={(f.kind as { module: string }).module} onChange={(m) => change(i, { kind: { type: "reference", module: m as W["Module"] } })} />}
                </Field>
              )}
            </div>
            {"options" in f.kind && <Options at={`${at}/kind/options`} kind={f.kind} onChange={(kind) => change(i, { kind })} />}
            <label className="checkbox">
              <input type="checkbox" checked={f.required ?? false} onChange={(e) => change(i, { required: e.target.checked })} />
              {t("tenant.required")}
            </label>
            <button type="button" onClick={() => onChange(value.filter((_, j) => j !== i))}>
              {t("action.remove")}
            </button>
          </div>
        );
      })}
      <button type="button" onClick={() => onChange([...value, { module: "Customer", name: "", label_vi: "", label_en: "", kind: { type: "text" }, required: false }])}>
        + {t("tenant.addField")}
      </button>
    </fieldset>
  );
}

type PickKind = Extract<W["FieldKind"], { options: unknown }>;

function Options({ at, kind, onChange }: { at: string; kind: PickKind; onChange: (k: PickKind) => void }) {
  const t = useT();
  const change = (i: number, patch: Partial<W["PickOption"]>) => onChange({ ...kind, options: kind.options.map((o, j) => (j === i ? { ...o, ...patch } : o)) });
  return (
    <fieldset>
      <legend>{t("tenant.options")}</legend>
      {kind.options.map((o, i) => (
        <div className="row" key={i}>
          <Field label={t("tenant.optionValue")} pointer={`${at}/${i}/value`}>
            {(id, d) => <input id={id} aria-describedby={d} value={o.value} onChange={(e) => change(i, { value: e.target.value })} />}
          </Field>
          <Field label={t("tenant.labelVi")} pointer={`${at}/${i}/label_vi`}>
            {(id, d) => <input id={id} aria-describedby={d} value={o.label_vi} onChange={(e) => change(i, { label_vi: e.target.value })} />}
          </Field>
          <Field label={t("tenant.labelEn")} pointer={`${at}/${i}/label_en`}>
            {(id, d) => <input id={id} aria-describedby={d} value={o.label_en} onChange={(e) => change(i, { label_en: e.target.value })} />}
          </Field>
          <button type="button" onClick={() => onChange({ ...kind, options: kind.options.filter((_, j) => j !== i) })}>
            {t("action.remove")}
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange({ ...kind, options: [...kind.options, { value: "", label_vi: "", label_en: "" }] })}>
        + {t("tenant.addOption")}
      </button>
    </fieldset>
  );
}

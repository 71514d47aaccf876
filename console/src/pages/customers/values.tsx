import { fieldLabel, type FieldDef } from "../../api/modules";
import { UserSelect } from "../../components/Pickers";
import type { Translate } from "../../i18n";

/** A stored value as the customer page shows it. */
export function showValue(field: FieldDef | undefined, value: unknown, t: Translate): string {
  if (value === undefined || value === null || value === "") return "—";
  if (field?.options && typeof value === "string") {
    const option = field.options.find((o) => o.value === value);
    if (option) return t.lang === "en" ? option.label_en : option.label_vi;
  }
  if (typeof value === "boolean") return value ? t("yes") : t("no");
  if (typeof value === "number" && field?.type === "money") return value.toLocaleString(t.locale);
  if (typeof value === "string" && field?.type === "date_time" && !Number.isNaN(Date.parse(value))) return new Date(value).toLocaleString(t.locale);
  if (Array.isArray(value)) return value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** An input typed by the field: pick-lists as pick-lists, dates as date pickers, numbers as numbers. */
export function ValueEditor({
  id,
  describedBy,
  field,
  value,
  onChange,
  t,
}: {
  id: string;
  describedBy?: string;
  field: FieldDef;
  value: unknown;
  onChange: (v: unknown) => void;
  t: Translate;
}) {
  const text = value === undefined || value === null ? "" : String(value);
  switch (field.type) {
    case "pick_list":
      return (
        <select id={id} aria-describedby={describedBy} value={text} onChange={(e) => onChange(e.target.value || null)}>
          <option value="">—</option>
          {(field.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {t.lang === "en" ? o.label_en : o.label_vi}
            </option>
          ))}
        </select>
      );
    case "multi_pick_list": {
      const chosen = Array.isArray(value) ? (value as string[]) : [];
      return (
        <select id={id} aria-describedby={describedBy} multiple value={chosen} onChange={(e) => onChange(Array.from(e.target.selectedOptions, (o) => o.value))}>
          {(field.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {t.lang === "en" ? o.label_en : o.label_vi}
            </option>
          ))}
        </select>
      );
    }
    case "boolean":
      return (
        <select id={id} aria-describedby={describedBy} value={text} onChange={(e) => onChange(e.target.value === "" ? null : e.target.value === "true")}>
          <option value="">—</option>
          <option value="true">{t("yes")}</option>
          <option value="false">{t("no")}</option>
        </select>
      );
    case "number":
    case "money":
      return <input id={id} aria-describedby={describedBy} type="number" value={text} onChange={(e) => onChange(e.target.value === "" ? null : Number(e.target.value))} />;
    case "date":
      return <input id={id} aria-describedby={describedBy} type="date" value={text} onChange={(e) => onChange(e.target.value || null)} />;
    case "date_time":
      // In the browser's own time; stored as the instant it names.
      return <input id={id} aria-describedby={describedBy} type="datetime-local" value={localInput(text)} onChange={(e) => onChange(e.target.value ? new Date(e.target.value).toISOString() : null)} />;
    case "user":
    case "users":
      return <UserSelect id={id} aria-describedby={describedBy} multiple={field.type === "users"} value={value ?? (field.type === "users" ? [] : "")} onChange={(v) => onChange(v === "" ? null : v)} />;
    case "email":
      return <input id={id} aria-describedby={describedBy} type="email" value={text} onChange={(e) => onChange(e.target.value || null)} />;
    case "phone":
      return <input id={id} aria-describedby={describedBy} type="tel" value={text} onChange={(e) => onChange(e.target.value || null)} />;
    default:
      return <input id={id} aria-describedby={describedBy} value={text} onChange={(e) => onChange(e.target.value || null)} />;
  }
}

/** Fields a person edits: not read-only, not the structured line items. */
export function editableFields(fields: FieldDef[]): FieldDef[] {
  return fields.filter((f) => !f.read_only && (f.type as string) !== "line_items");
}

export function recordTitle(fields: Record<string, unknown>, id: string): string {
  const name = fields.Name ?? fields.Subject ?? fields.Title;
  return typeof name === "string" && name ? name : id;
}

export { fieldLabel };

/** An instant as a datetime-local input shows it, in the browser's time zone. */
function localInput(iso: string): string {
  const at = new Date(iso);
  if (!iso || Number.isNaN(at.getTime())) return "";
  const two = (n: number) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}T${two(at.getHours())}:${two(at.getMinutes())}`;
}

import { useRef } from "react";
import { fieldLabel, type FieldDef } from "../../api/modules";
import { Field } from "../../components/Problem";
import { useT } from "../../i18n";

/** A merge text with a picker that inserts `#{label}` where the cursor is. */
export function MergeText({
  label,
  pointer,
  value,
  onChange,
  fields,
  multiline = false,
}: {
  label: string;
  pointer: string;
  value: string;
  onChange: (v: string) => void;
  fields: FieldDef[];
  multiline?: boolean;
}) {
  const t = useT();
  const input = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const insert = (name: string) => {
    const field = fields.find((f) => f.name === name);
    if (!field) return;
    const token = `#{${fieldLabel(field, t.lang)}}`;
    const el = input.current;
    const start = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? value.length;
    onChange(value.slice(0, start) + token + value.slice(end));
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + token.length, start + token.length);
    });
  };
  return (
    <Field label={label} pointer={pointer}>
      {(id, d) => (
        <div className="merge-text">
          {multiline ? (
            <textarea id={id} aria-describedby={d} ref={input} rows={3} value={value} onChange={(e) => onChange(e.target.value)} />
          ) : (
            <input id={id} aria-describedby={d} ref={input} value={value} onChange={(e) => onChange(e.target.value)} />
          )}
          <select
            aria-label={`${t("editor.insertMergeField")}: ${label}`}
            value=""
            onChange={(e) => insert(e.target.value)}
          >
            <option value="">{t("editor.insertMergeField")}</option>
            {fields
              .filter((f) => f.type !== "score_breakdown" && f.type !== "approval")
              .map((f) => (
                <option key={f.name} value={f.name}>
                  {fieldLabel(f, t.lang)}
                </option>
              ))}
          </select>
        </div>
      )}
    </Field>
  );
}

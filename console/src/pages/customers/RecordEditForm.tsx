import { useEffect, useState, type FormEvent } from "react";
import { asProblem, api, ApiProblem, type R } from "../../api/client";
import type { FieldDef } from "../../api/modules";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useT } from "../../i18n";
import { editableFields, fieldLabel, ValueEditor } from "./values";

/**
 * The full edit: every editable field, saved with the ETag it was read at. A change made by
 * someone else meanwhile comes back as 412; the form keeps what the user typed.
 */
export function RecordEditForm({
  record,
  etag,
  fields,
  onSaved,
  onReload,
}: {
  record: R["Record"];
  etag: string;
  fields: FieldDef[];
  onSaved: (r: R["Record"], etag: string | null) => void;
  onReload: () => void;
}) {
  const t = useT();
  const editable = editableFields(fields);
  const read = (r: R["Record"]) => Object.fromEntries(editable.map((f) => [f.name, r.fields[f.name] ?? null]));
  const [values, setValues] = useState<Record<string, unknown>>(() => read(record));
  // What the form was opened (or last reloaded) with: a reload takes the other person's changes
  // into the fields this user has not touched, and keeps the ones they have.
  const [base, setBase] = useState<Record<string, unknown>>(() => read(record));
  useEffect(() => {
    const fresh = read(record);
    setValues((typed) => Object.fromEntries(Object.keys(fresh).map((k) => [k, same(typed[k], base[k]) ? fresh[k] : typed[k]])));
    setBase(fresh);
    // Only a newer revision of the record is merged in.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [record.revision]);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [saving, setSaving] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    // Empty values are left out: a PUT replaces the record's fields with those sent.
    const body = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && v.length === 0)));
    try {
      const { data, error, response } = await api().records.PUT("/records/{module}/{id}", {
        params: { path: { module: record.module, id: record.id }, header: { "If-Match": etag } },
        body: body as R["FieldValues"],
      });
      if (!data) throw new ApiProblem(response.status, error);
      setProblem(null);
      onSaved(data, response.headers.get("ETag"));
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setSaving(false);
    }
  };
  return (
    <FormProblem.Provider value={problem}>
      <form noValidate className="panel record-form" onSubmit={submit} aria-label={t("customers.editTitle")}>
        <div className="grid">
          {editable.map((f) => (
            <Field key={f.name} label={fieldLabel(f, t.lang)} pointer={`/fields/${f.name}`}>
              {(id, d) => <ValueEditor id={id} describedBy={d} field={f} value={values[f.name]} t={t} onChange={(v) => setValues({ ...values, [f.name]: v })} />}
            </Field>
          ))}
        </div>
        <ProblemBanner problem={problem} onReload={onReload} shownPointers={editable.map((f) => `/fields/${f.name}`)} />
        <button type="submit" className="primary" disabled={saving}>
          {t("action.save")}
        </button>
      </form>
    </FormProblem.Provider>
  );
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

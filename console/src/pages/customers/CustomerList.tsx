import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { asProblem, api, ApiProblem, ok, type R } from "../../api/client";
import { moduleSchema } from "../../api/modules";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { usePages } from "../../components/usePages";
import { useT } from "../../i18n";
import { fieldLabel, recordTitle, showValue, ValueEditor } from "./values";

const LIST_FIELDS = ["Name", "Phone", "Email", "Birthday", "Owner"];
const NEW_FIELDS = ["Name", "Phone", "Email", "Birthday"];

export function CustomerList() {
  const t = useT();
  const navigate = useNavigate();
  const page = usePages((cursor) => ok(api().records.GET("/records/{module}", { params: { path: { module: "Customer" }, query: { limit: 50, cursor } } })), []);
  const schema = useLoad(() => moduleSchema("Customer"), []);
  const fields = schema.data?.fields ?? [];
  const [draft, setDraft] = useState<Record<string, unknown>>({});
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  // One click, one customer: the button waits for the answer.
  const [busy, setBusy] = useState(false);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      const record = await ok(
        api().records.POST("/records/{module}", { params: { path: { module: "Customer" } }, body: draft as R["FieldValues"] }),
      );
      navigate(`/customers/${encodeURIComponent(record.id)}`);
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const shown = LIST_FIELDS.map((name) => fields.find((f) => f.name === name)).filter((f) => f !== undefined);
  return (
    <section>
      <h1>{t("customers.title")}</h1>
      <ProblemBanner problem={page.problem} onReload={page.reload} />
      <table>
        <thead>
          <tr>
            {shown.map((f) => (
              <th key={f.name}>{fieldLabel(f, t.lang)}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {page.items.map((r) => (
            <tr key={r.id}>
              {shown.map((f, i) => (
                <td key={f.name}>
                  {i === 0 ? (
                    <Link to={`/customers/${encodeURIComponent(r.id)}`}>{recordTitle(r.fields, r.id)}</Link>
                  ) : (
                    showValue(f, r.fields[f.name], t)
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {page.more && (
        <button type="button" disabled={page.loading} onClick={page.more}>
          {t("action.more")}
        </button>
      )}
      <FormProblem.Provider value={problem}>
        <form noValidate className="panel" onSubmit={create} aria-labelledby="new-customer">
          <h2 id="new-customer">{t("customers.new")}</h2>
          {NEW_FIELDS.map((name) => fields.find((f) => f.name === name))
            .filter((f) => f !== undefined)
            .map((f) => (
              <Field key={f.name} label={fieldLabel(f, t.lang)} pointer={`/fields/${f.name}`}>
                {(id, d) => <ValueEditor id={id} describedBy={d} field={f} value={draft[f.name]} t={t} onChange={(v) => setDraft({ ...draft, [f.name]: v })} />}
              </Field>
            ))}
          <ProblemBanner problem={problem} shownPointers={NEW_FIELDS.map((n) => `/fields/${n}`)} />
          <button type="submit" className="primary" disabled={busy}>
            {t("action.create")}
          </button>
        </form>
      </FormProblem.Provider>
    </section>
  );
}

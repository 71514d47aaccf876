import { useContext, useState, type FormEvent } from "react";
import { ApiProblem, asProblem, api, ok, type R } from "../../api/client";
import { fieldLabel, moduleSchema, type FieldDef } from "../../api/modules";
import { FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { showValue } from "./values";

type Layout = R["CustomerPageLayout"];
type ListName = R["RelatedListName"];
const LISTS: ListName[] = ["contacts", "opportunities", "quotes", "orders", "invoices", "tasks", "care_cards"];
const MODULE_OF: Record<ListName, string> = {
  contacts: "Contact",
  opportunities: "Opportunity",
  quotes: "Quote",
  orders: "Order",
  invoices: "Invoice",
  tasks: "Task",
  care_cards: "CareCard",
};

/** The customer's related lists as the user laid them out, each a table of its columns. */
export function RelatedView({ id, onCustomise }: { id: string; onCustomise: () => void }) {
  const t = useT();
  const view = useLoad(() => ok(api().records.GET("/customers/{id}/view", { params: { path: { id } } })), [id]);
  return (
    <div data-testid="related">
      <div className="toolbar">
        <button type="button" onClick={onCustomise}>
          {t("layout.customise")}
        </button>
      </div>
      <ProblemBanner problem={view.problem} onReload={view.reload} />
      {(view.data?.lists ?? []).map((list) => (
        <RelatedTable key={list.list} list={list} />
      ))}
    </div>
  );
}

function RelatedTable({ list }: { list: R["CustomerView"]["lists"][number] }) {
  const t = useT();
  const schema = useLoad(() => moduleSchema(list.module), [list.module]);
  const field = (name: string) => schema.data?.fields.find((f) => f.name === name);
  return (
    <table className="related">
      <caption>
        {t(`related.${list.list}` as Key)} ({list.items.length})
      </caption>
      <thead>
        <tr>
          {list.columns.map((c) => (
            <th key={c}>{field(c) ? fieldLabel(field(c) as FieldDef, t.lang) : c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {list.items.map((item) => (
          <tr key={item.id}>
            {list.columns.map((c) => (
              <td key={c}>{showValue(field(c), (item.fields as Record<string, unknown>)[c], t)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The user's own customer page: the summary card's fields, and which related lists show, in
 * which order, with which columns. Saved over the version read (a change made elsewhere since
 * is reported, not overwritten).
 */
export function LayoutForm({ customerFields, onDone, onCancel }: { customerFields: FieldDef[]; onDone: () => void; onCancel: () => void }) {
  const t = useT();
  const current = useLoad(async () => {
    const { data, error, response } = await api().records.GET("/me/customer-page");
    if (!data) throw new ApiProblem(response.status, error);
    return { layout: data, etag: response.headers.get("ETag") ?? '"0"' };
  }, []);
  const [draft, setDraft] = useState<Layout | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const layout = draft ?? current.data?.layout ?? null;
  if (!layout) return <ProblemBanner problem={current.problem} onReload={current.reload} />;
  const summary = layout.summary_fields ?? [];
  const toggleSummary = (name: string, on: boolean) =>
    setDraft({ ...layout, summary_fields: on ? customerFields.map((f) => f.name).filter((n) => n === name || summary.includes(n)) : summary.filter((n) => n !== name) });
  const shown = layout.related;
  const setShown = (related: Layout["related"]) => setDraft({ ...layout, related });
  const move = (i: number, by: number) => {
    const next = [...shown];
    const [item] = next.splice(i, 1);
    next.splice(i + by, 0, item);
    setShown(next);
    // The API's words name lists by their place: after a move they would sit beside another.
    setProblem(null);
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      await ok(api().records.PUT("/me/customer-page", { params: { header: { "If-Match": current.data?.etag ?? '"0"' } }, body: layout }));
      onDone();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormProblem.Provider value={problem}>
      <form noValidate className="panel" onSubmit={save} aria-label={t("layout.customise")}>
        <fieldset>
          <legend>{t("layout.summary")}</legend>
          <p className="hint">{t("layout.summaryHint")}</p>
          {customerFields.map((f) => (
            <label key={f.name} className="checkbox">
              <input type="checkbox" checked={summary.includes(f.name)} onChange={(e) => toggleSummary(f.name, e.target.checked)} /> {fieldLabel(f, t.lang)}
            </label>
          ))}
          <ListProblems prefix="/summary_fields" />
        </fieldset>
        <fieldset>
          <legend>{t("layout.lists")}</legend>
          {LISTS.filter((l) => !shown.some((s) => s.list === l)).map((l) => (
            <button key={l} type="button" onClick={() => setShown([...shown, { list: l, columns: [] }])}>
              + {t(`related.${l}` as Key)}
            </button>
          ))}
          {shown.map((s, i) => (
            <ListColumns
              key={s.list}
              index={i}
              list={s}
              count={shown.length}
              onChange={(columns) => setShown(shown.map((x, j) => (j === i ? { ...x, columns } : x)))}
              onMove={(by) => move(i, by)}
              onRemove={() => setShown(shown.filter((_, j) => j !== i))}
            />
          ))}
        </fieldset>
        <ProblemBanner
          problem={problem}
          onReload={() => {
            // Start again from the layout as it is now: another tab's change is shown, not overwritten.
            setDraft(null);
            setProblem(null);
            void current.reload();
          }}
          shownPointers={["/summary_fields", "/related"]}
        />
        <div className="toolbar">
          <button type="submit" className="primary" disabled={busy}>
            {t("action.save")}
          </button>
          <button type="button" onClick={onCancel}>
            {t("action.cancel")}
          </button>
        </div>
      </form>
    </FormProblem.Provider>
  );
}

/** One shown list: its place, and its columns picked from its module's fields. */
function ListColumns({
  index,
  list,
  count,
  onChange,
  onMove,
  onRemove,
}: {
  index: number;
  list: Layout["related"][number];
  count: number;
  onChange: (columns: string[]) => void;
  onMove: (by: number) => void;
  onRemove: () => void;
}) {
  const t = useT();
  const schema = useLoad(() => moduleSchema(MODULE_OF[list.list]), [list.list]);
  const fields = (schema.data?.fields ?? []).filter((f) => f.type !== "score_breakdown" && f.type !== "approval");
  const name = t(`related.${list.list}` as Key);
  return (
    <fieldset data-list={list.list}>
      <legend>{name}</legend>
      <div className="toolbar">
        <button type="button" disabled={index === 0} onClick={() => onMove(-1)} aria-label={`${t("layout.up")} ${name}`}>
          ↑
        </button>
        <button type="button" disabled={index === count - 1} onClick={() => onMove(1)} aria-label={`${t("layout.down")} ${name}`}>
          ↓
        </button>
        <button type="button" onClick={onRemove}>
          {t("layout.hide")} {name}
        </button>
      </div>
      <ProblemBanner problem={schema.problem} onReload={schema.reload} />
      {fields.map((f) => (
        <label key={f.name} className="checkbox">
          <input
            type="checkbox"
            checked={list.columns.includes(f.name)}
            onChange={(e) => onChange(e.target.checked ? [...list.columns, f.name] : list.columns.filter((c) => c !== f.name))}
          />{" "}
          {fieldLabel(f, t.lang)}
        </label>
      ))}
      <ListProblems prefix={`/related/${index}`} />
    </fieldset>
  );
}

/** What the API said of one list (its columns, its place), beside it. */
function ListProblems({ prefix }: { prefix: string }) {
  const problem = useContext(FormProblem);
  const mine = (problem?.errors ?? []).filter((e) => e.path === prefix || e.path.startsWith(`${prefix}/`));
  return (
    <>
      {mine.map((e) => (
        <small key={e.path} className="field-error" role="alert">
          {e.message}
        </small>
      ))}
    </>
  );
}

/** The customer's summary fields in the order the user's layout gives (all when it names none). */
export function summaryOrder(fields: FieldDef[], chosen: string[] | undefined): FieldDef[] {
  if (!chosen || chosen.length === 0) return fields;
  return chosen.flatMap((name) => fields.filter((f) => f.name === name));
}

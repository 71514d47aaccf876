import { api, ok, type R } from "../../api/client";
import { ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { recordTitle } from "./values";

/** The activity tab: tasks, care cards and what the automation did, newest first. */
export function Activities({ id }: { id: string }) {
  const t = useT();
  const list = useLoad(() => ok(api().records.GET("/customers/{id}/activities", { params: { path: { id } } })), [id]);
  const items = list.data?.items ?? [];
  return (
    <div data-testid="activities">
      <ProblemBanner problem={list.problem} onReload={list.reload} />
      {!list.loading && items.length === 0 && <p>{t("customers.noActivities")}</p>}
      <ul className="timeline">
        {items.map((a) =>
          a.type === "record" ? (
            <li key={a.id}>
              <strong>{a.module}</strong> {recordTitle(a.fields, a.id)}{" "}
              <span className="muted">{String(a.fields.Status ?? "")}</span>
            </li>
          ) : (
            <li key={a.key}>
              <strong>{t("customers.automation")}</strong> {a.action} ({a.kind}) —{" "}
              <span className={`badge run-${a.status}`}>{t(`run.${a.status}` as Key)}</span>{" "}
              <span className="muted">{new Date(a.updated_at).toLocaleString(t.locale)}</span>
            </li>
          ),
        )}
      </ul>
    </div>
  );
}

const RELATED = ["contacts", "opportunities", "quotes", "orders", "invoices", "tasks", "care_cards"] as const;

export function Related({ id }: { id: string }) {
  const t = useT();
  const lists = useLoad(() => ok(api().records.GET("/customers/{id}/related", { params: { path: { id } } })), [id]);
  return (
    <div>
      <ProblemBanner problem={lists.problem} onReload={lists.reload} />
      {RELATED.map((key) => {
        const records: R["Record"][] = lists.data?.[key] ?? [];
        return (
          <section key={key} className="related">
            <h3>
              {t(`related.${key}` as Key)} ({records.length})
            </h3>
            <ul>
              {records.map((r) => (
                <li key={r.id}>{recordTitle(r.fields, r.id)}</li>
              ))}
            </ul>
          </section>
        );
      })}
    </div>
  );
}

export function Sales({ id }: { id: string }) {
  const t = useT();
  const list = useLoad(() => ok(api().records.GET("/customers/{id}/sales", { params: { path: { id } } })), [id]);
  const items = list.data?.items ?? [];
  return (
    <div>
      <ProblemBanner problem={list.problem} onReload={list.reload} />
      {!list.loading && items.length === 0 && <p>{t("customers.noSales")}</p>}
      <ul>
        {items.map((r) => (
          <li key={r.id}>
            <strong>{r.module}</strong> {recordTitle(r.fields, r.id)} {r.fields.Amount !== undefined ? `· ${Number(r.fields.Amount).toLocaleString(t.locale)}` : ""}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function PurchaseStats({ id }: { id: string }) {
  const t = useT();
  const stats = useLoad(() => ok(api().records.GET("/customers/{id}/purchase-stats", { params: { path: { id } } })), [id]);
  const s = stats.data;
  return (
    <div>
      <ProblemBanner problem={stats.problem} onReload={stats.reload} />
      {s && (
        <dl className="summary">
          <dt>{t("stats.orders")}</dt>
          <dd>{s.orders}</dd>
          <dt>{t("stats.revenue")}</dt>
          <dd>{s.revenue.toLocaleString(t.locale)}</dd>
          <dt>{t("stats.first")}</dt>
          <dd>{s.first_purchase ?? "—"}</dd>
          <dt>{t("stats.last")}</dt>
          <dd>{s.last_purchase ?? "—"}</dd>
        </dl>
      )}
    </div>
  );
}

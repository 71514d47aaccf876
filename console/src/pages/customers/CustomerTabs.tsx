import { api, ok } from "../../api/client";
import { ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT } from "../../i18n";
import { recordTitle } from "./values";

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

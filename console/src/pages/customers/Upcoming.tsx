import { api, ok, type R } from "../../api/client";
import { ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT } from "../../i18n";

/** What the care workflows will do for this record next. */
export function Upcoming({ module, id }: { module: R["Module"]; id: string }) {
  const t = useT();
  const coming = useLoad(() => ok(api().records.GET("/records/{module}/{id}/schedule", { params: { path: { module, id } } })), [module, id]);
  const items = coming.data?.items ?? [];
  return (
    <section data-testid="upcoming">
      <h3>{t("upcoming.title")}</h3>
      <ProblemBanner problem={coming.problem} onReload={coming.reload} />
      {!coming.loading && items.length === 0 && <p>{t("upcoming.none")}</p>}
      <ul>
        {items.map((u) => (
          <li key={u.workflow}>
            {new Date(u.fire_at).toLocaleString(t.locale)} — {u.name} <span className="muted">({u.occurrence})</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

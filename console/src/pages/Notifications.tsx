import { Link } from "react-router-dom";
import { api, ok } from "../api/client";
import { ProblemBanner } from "../components/Problem";
import { usePages } from "../components/usePages";
import { useT } from "../i18n";

/** The caller's in-app notifications, newest first; opening one marks it read. */
export function Notifications() {
  const t = useT();
  const page = usePages((cursor) => ok(api().records.GET("/me/notifications", { params: { query: { limit: 50, cursor } } })), []);
  const markRead = async (key: string) => {
    await ok(api().records.POST("/me/notifications/{key}/read", { params: { path: { key } } }));
    await page.reload();
  };
  const items = page.items;
  return (
    <section>
      <h1>{t("notifications.title")}</h1>
      <ProblemBanner problem={page.problem} onReload={page.reload} />
      {!page.loading && items.length === 0 && <p>{t("notifications.none")}</p>}
      <ul className="list">
        {items.map((n) => (
          <li key={n.key} className={n.read ? "read" : "unread"}>
            <span>{n.message}</span> <span className="muted">{new Date(n.at).toLocaleString(t.locale)}</span>{" "}
            {n.record && <Link to={`/customers/${encodeURIComponent(n.record)}`}>{t("notifications.open")}</Link>}{" "}
            {!n.read && (
              <button type="button" onClick={() => markRead(n.key)}>
                {t("notifications.markRead")}
              </button>
            )}
          </li>
        ))}
      </ul>
      {page.more && (
        <button type="button" disabled={page.loading} onClick={page.more}>
          {t("action.more")}
        </button>
      )}
    </section>
  );
}

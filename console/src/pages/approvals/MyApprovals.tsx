import { useState } from "react";
import { Link } from "react-router-dom";
import { api, ok, type R } from "../../api/client";
import { ProblemBanner } from "../../components/Problem";
import { usePages } from "../../components/usePages";
import { useT } from "../../i18n";

type Pending = R["PendingApproval"];

/** What waits on the caller's decision, oldest first: approve or reject with a comment. */
export function MyApprovals() {
  const t = useT();
  const page = usePages((cursor) => ok(api().records.GET("/me/approvals", { params: { query: { limit: 50, cursor } } })), []);
  const items = page.items;
  return (
    <section>
      <h1>{t("approvals.mine")}</h1>
      <ProblemBanner problem={page.problem} onReload={page.reload} />
      {!page.loading && items.length === 0 && <p>{t("approvals.none")}</p>}
      {items.map((p) => (
        <Decision key={p.request} pending={p} onDecided={page.reload} />
      ))}
      {page.more && (
        <button type="button" disabled={page.loading} onClick={page.more}>
          {t("action.more")}
        </button>
      )}
    </section>
  );
}

function Decision({ pending, onDecided }: { pending: Pending; onDecided: () => void }) {
  const t = useT();
  const [comment, setComment] = useState("");
  const [revenue, setRevenue] = useState("");
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const decide = async (action: "approve" | "reject" | "record") => {
    if (busy) return;
    setBusy(true);
    const body = action === "record" ? { comment: comment || undefined, revenue: revenue === "" ? undefined : Number(revenue) } : { comment: comment || undefined };
    try {
      await ok(
        api().records.POST("/records/{module}/{id}/approvals/{request}/{action}", {
          params: { path: { module: pending.module, id: pending.record, request: pending.request, action } },
          body,
        }),
      );
      setProblem(null);
      onDecided();
    } catch (e) {
      setProblem(e);
    } finally {
      setBusy(false);
    }
  };
  const recordStep = pending.module === "Order";
  const commentId = `comment-${pending.request}`;
  return (
    <article className="panel" data-testid="pending-approval">
      <h2>
        {pending.name} · {pending.step}
      </h2>
      <p>
        {pending.module === "Customer" ? <Link to={`/customers/${encodeURIComponent(pending.record)}`}>{pending.record}</Link> : `${pending.module} ${pending.record}`} ·{" "}
        {t("approvals.submittedBy")} {pending.submitter} · {new Date(pending.submitted_at).toLocaleString(t.locale)}
        {pending.deadline_at ? ` · ${t("approvals.deadline")} ${new Date(pending.deadline_at).toLocaleString(t.locale)}` : ""}
      </p>
      <div className="field">
        <label htmlFor={commentId}>{t("approvals.comment")}</label>
        <textarea id={commentId} rows={2} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} />
      </div>
      {recordStep && (
        <div className="field">
          <label htmlFor={`revenue-${pending.request}`}>{t("approvals.revenue")}</label>
          <input id={`revenue-${pending.request}`} type="number" value={revenue} onChange={(e) => setRevenue(e.target.value)} />
        </div>
      )}
      <ProblemBanner problem={problem} />
      <div className="toolbar">
        <button type="button" className="primary" disabled={busy} onClick={() => decide("approve")}>
          {t("approvals.approve")}
        </button>
        {recordStep && (
          <button type="button" disabled={busy} onClick={() => decide("record")}>
            {t("approvals.record")}
          </button>
        )}
        <button type="button" className="danger" disabled={busy} onClick={() => decide("reject")}>
          {t("approvals.reject")}
        </button>
      </div>
    </article>
  );
}

import { useState } from "react";
import { api, ok, type R } from "../../api/client";
import { Field, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";

type Request = R["ApprovalRequest"];

/**
 * A record's approvals: "send for approval" (the first active approval workflow whose entry
 * condition it meets takes it), the requests with their history, and recall for the submitter.
 */
export function ApprovalPanel({ module, record, user, onChanged }: { module: R["Module"]; record: R["Record"]; user: string; onChanged: () => void }) {
  const t = useT();
  const path = { module, id: record.id };
  const requests = useLoad(() => ok(api().records.GET("/records/{module}/{id}/approvals", { params: { path } })), [record.id, record.revision]);
  const [comment, setComment] = useState("");
  const [problem, setProblem] = useState<unknown>(null);
  const lock = record.fields.Approval as R["ApprovalLock"] | undefined;
  const act = async (run: () => Promise<unknown>) => {
    try {
      await run();
      setProblem(null);
      setComment("");
      onChanged();
      await requests.reload();
    } catch (e) {
      setProblem(e);
    }
  };
  const submit = () => act(() => ok(api().records.POST("/records/{module}/{id}/approvals", { params: { path }, body: comment ? { comment } : {} })));
  const recall = (request: Request) =>
    act(() =>
      ok(
        api().records.POST("/records/{module}/{id}/approvals/{request}/{action}", {
          params: { path: { ...path, request: request.id, action: "recall" } },
          body: comment ? { comment } : {},
        }),
      ),
    );
  const items = requests.data?.items ?? [];
  return (
    <div data-testid="approvals">
      {lock ? (
        <p role="status" className="notice">
          {t("approvals.locked").replace("{name}", lock.name).replace("{submitter}", lock.submitter)}
        </p>
      ) : (
        <div className="inline-form">
          <Field label={t("approvals.comment")} pointer="/comment">
            {(id, d) => <input id={id} aria-describedby={d} value={comment} onChange={(e) => setComment(e.target.value)} />}
          </Field>
          <button type="button" className="primary" onClick={submit}>
            {t("approvals.submit")}
          </button>
        </div>
      )}
      <ProblemBanner problem={problem ?? requests.problem} onReload={requests.reload} />
      {items.map((request) => (
        <article key={request.id} className="panel">
          <h3>
            {request.name} — <span className={`badge approval-${request.status}`}>{t(`approvalStatus.${request.status}` as Key)}</span>
          </h3>
          {request.current && (
            <p>
              {t("approvals.waitingOn")}: {request.current.name} ({request.current.approvers.join(", ")})
              {request.current.deadline_at ? ` · ${t("approvals.deadline")} ${new Date(request.current.deadline_at).toLocaleString(t.locale)}` : ""}
            </p>
          )}
          <ol className="timeline">
            {request.history.map((line, i) => (
              <li key={i}>
                <span className="muted">{new Date(line.at).toLocaleString(t.locale)}</span> {t(`approvalEvent.${line.event}` as Key)}
                {line.by ? ` · ${line.by}` : ""}
                {line.step ? ` · ${line.step}` : ""}
                {line.comment ? ` — “${line.comment}”` : ""}
              </li>
            ))}
          </ol>
          {request.status === "pending" && request.submitter === user && (
            <button type="button" onClick={() => recall(request)}>
              {t("approvals.recall")}
            </button>
          )}
        </article>
      ))}
    </div>
  );
}

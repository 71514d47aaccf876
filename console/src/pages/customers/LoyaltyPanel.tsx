import { useRef, useState, type FormEvent } from "react";
import { asProblem, api, ok, type ApiProblem } from "../../api/client";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT } from "../../i18n";
import { recordTitle } from "./values";

/** A new idempotency key: one per redemption the user means, kept across retries of it. */
function newKey(): string {
  return `r-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * The customer's points (what can be spent, what was spent, the rank) and the ledger, with the
 * redemption against one of its orders: a double click or a retry spends once.
 */
export function LoyaltyPanel({ id, onChanged }: { id: string; onChanged: () => void }) {
  const t = useT();
  const balance = useLoad(() => ok(api().records.GET("/customers/{id}/loyalty", { params: { path: { id } } })), [id]);
  const sales = useLoad(() => ok(api().records.GET("/customers/{id}/sales", { params: { path: { id } } })), [id]);
  const orders = (sales.data?.items ?? []).filter((r) => r.module === "Order" && r.fields.Status !== "Cancelled");
  const [order, setOrder] = useState("");
  const [points, setPoints] = useState("");
  const [key, setKey] = useState(newKey);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  // A second click before the first answer is the same redemption: it waits here.
  const sending = useRef(false);
  const [done, setDone] = useState<string | null>(null);
  const redeem = async (e: FormEvent) => {
    e.preventDefault();
    if (sending.current) return;
    sending.current = true;
    setBusy(true);
    setDone(null);
    try {
      const made = await ok(
        api().records.POST("/customers/{id}/loyalty/redemptions", {
          params: { path: { id } },
          body: { order, points: points === "" ? 0 : Number(points), key },
        }),
      );
      setDone(t("loyalty.done").replace("{points}", String(made.redemption.points)).replace("{left}", String(made.redemption.balance_after)));
      setProblem(null);
      setPoints("");
      // The next redemption is another one.
      setKey(newKey());
      await balance.reload();
      onChanged();
    } catch (err) {
      const p = asProblem(err);
      setProblem(p);
      // A refusal wrote nothing: what the user sends next is a redemption of its own. After no
      // answer (the network, a 5xx) it may have been written: the same key finds it.
      if (p.status >= 400 && p.status < 500) setKey(newKey());
      await balance.reload();
    } finally {
      sending.current = false;
      setBusy(false);
    }
  };
  const b = balance.data;
  return (
    <div data-testid="loyalty">
      <ProblemBanner problem={balance.problem ?? sales.problem} onReload={balance.reload} />
      {b && (
        <p>
          {t("loyalty.summary")
            .replace("{points}", String(b.points))
            .replace("{redeemed}", String(b.redeemed))
            .replace("{rank}", b.rank ?? "—")}
        </p>
      )}
      <FormProblem.Provider value={problem}>
        <form noValidate className="panel" onSubmit={redeem} aria-label={t("loyalty.redeem")}>
          <h3>{t("loyalty.redeem")}</h3>
          <Field label={t("loyalty.order")} pointer="/order">
            {(fid, d) => (
              <select id={fid} aria-describedby={d} value={order} onChange={(e) => setOrder(e.target.value)}>
                <option value="">{t("choose")}</option>
                {orders.map((o) => (
                  <option key={o.id} value={o.id}>
                    {recordTitle(o.fields, o.id)} {o.fields.OrderDate ? `(${String(o.fields.OrderDate)})` : ""}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("loyalty.points")} pointer="/points">
            {(fid, d) => <input id={fid} aria-describedby={d} type="number" min={1} value={points} onChange={(e) => setPoints(e.target.value)} />}
          </Field>
          <ProblemBanner problem={problem} shownPointers={["/order", "/points"]} />
          {done && <p role="status">{done}</p>}
          <button type="submit" className="primary" disabled={busy}>
            {t("loyalty.redeem")}
          </button>
        </form>
      </FormProblem.Provider>
      {b && b.redemptions.length > 0 && (
        <table>
          <caption>{t("loyalty.ledger")}</caption>
          <thead>
            <tr>
              <th>{t("loyalty.when")}</th>
              <th>{t("loyalty.order")}</th>
              <th>{t("loyalty.points")}</th>
              <th>{t("loyalty.left")}</th>
              <th>{t("loyalty.by")}</th>
            </tr>
          </thead>
          <tbody>
            {b.redemptions
              .slice()
              .reverse()
              .map((r) => (
                <tr key={r.id}>
                  <td>{new Date(r.at).toLocaleString(t.locale)}</td>
                  <td>{recordTitle(orders.find((o) => o.id === r.order)?.fields ?? {}, r.order)}</td>
                  <td>{r.points}</td>
                  <td>{r.balance_after}</td>
                  <td>{r.by}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

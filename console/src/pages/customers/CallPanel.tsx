import { useRef, useState, type FormEvent } from "react";
import { asProblem, api, ok, type ApiProblem, type R } from "../../api/client";
import type { FieldDef } from "../../api/modules";
import { settingName, settingsOf } from "../../api/settings";
import { useLoad } from "../../components/useLoad";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useT, type Key } from "../../i18n";
import { useReachable } from "./MessagePanel";

/** A new idempotency key: one per call the user means, kept across retries of it. */
function newKey(): string {
  return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Calling the customer (or a contact) through the company's switchboard (seed 003 §3.3): the
 * switchboard rings the user's extension, then the number. The call is logged on the timeline.
 */
export function CallPanel({ record, fields, onCalled }: { record: R["Record"]; fields: FieldDef[]; onCalled: () => void }) {
  const t = useT();
  const { reachable, problem: loading } = useReachable(record, fields, "sms");
  const switchboards = useLoad(() => settingsOf("voip-providers"), []);
  const [provider, setProvider] = useState("");
  const [phone, setPhone] = useState("");
  const [key, setKey] = useState(newKey);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const calling = useRef(false);
  const chosen = phone || reachable[0]?.address || "";
  const call = async (e: FormEvent) => {
    e.preventDefault();
    if (calling.current) return;
    calling.current = true;
    setBusy(true);
    setStatus(null);
    const contact = reachable.find((r) => r.address === chosen)?.contact;
    try {
      const placed = await ok(
        api().records.POST("/customers/{id}/calls", {
          params: { path: { id: record.id } },
          body: { key, phone: chosen, ...(contact ? { contact } : {}), ...(provider ? { provider } : {}) },
        }),
      );
      const state = String(placed.fields.Status ?? "");
      setStatus(state === "Failed" ? `${t("calls.status.Failed")}: ${String(placed.fields.Description ?? "")}` : t(`calls.status.${state}` as Key));
      setProblem(null);
      setKey(newKey());
      onCalled();
    } catch (err) {
      const p = asProblem(err);
      setProblem(p);
      // Refused: nothing was asked of the switchboard. No answer (5xx), or the call still being
      // placed (409): the same key finds the call, and asks again only if it was never placed.
      if (p.status >= 400 && p.status < 500 && p.status !== 409) setKey(newKey());
    } finally {
      calling.current = false;
      setBusy(false);
    }
  };
  // Nothing to call, or no switchboard to call through: no button that can only fail.
  if ((reachable.length === 0 && !loading) || (switchboards.data && switchboards.data.length === 0)) return null;
  return (
    <FormProblem.Provider value={problem}>
      <form noValidate className="toolbar" onSubmit={call} aria-label={t("calls.call")}>
        <ProblemBanner problem={loading ?? switchboards.problem} />
        {(switchboards.data ?? []).length > 1 && (
          <Field label={t("calls.switchboard")} pointer="/provider">
            {(id, d) => (
              <select id={id} aria-describedby={d} value={provider} onChange={(e) => setProvider(e.target.value)}>
                <option value="">{t("choose")}</option>
                {(switchboards.data ?? []).map((s) => (
                  <option key={s.id} value={s.id}>
                    {settingName(s)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <Field label={t("calls.number")} pointer="/phone">
          {(id, d) => (
            // Another number is another call: it gets a key of its own.
            <select
              id={id}
              aria-describedby={d}
              value={chosen}
              onChange={(e) => {
                setPhone(e.target.value);
                setKey(newKey());
              }}
            >
              {reachable.map((r) => (
                <option key={`${r.contact ?? ""}${r.address}`} value={r.address}>
                  {r.who} · {r.address}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className="primary" disabled={busy || !chosen}>
          {t("calls.call")}
        </button>
        <ProblemBanner problem={problem} shownPointers={["/phone", "/provider"]} />
        {status && <p role="status">{status}</p>}
      </form>
    </FormProblem.Provider>
  );
}

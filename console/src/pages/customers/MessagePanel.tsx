import { useRef, useState, type FormEvent } from "react";
import { asProblem, api, ok, type ApiProblem, type R } from "../../api/client";
import { moduleSchema, type FieldDef } from "../../api/modules";
import { settingName, settingsOf, type Setting } from "../../api/settings";
import { ListInput } from "../../components/ListInput";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { usePages } from "../../components/usePages";
import { useT, type Key } from "../../i18n";
import { SMS_SEGMENT, smsSegments } from "../settings/segments";
import { recordTitle } from "./values";

type Channel = R["MessageRequest"]["channel"];

/** A new idempotency key: one per message the user means, kept across retries of it. */
function newKey(): string {
  return `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** The addresses (email) or numbers (SMS) a record holds, by its fields of that kind. */
function addressesOf(record: R["Record"], fields: FieldDef[], channel: Channel): string[] {
  const kind = channel === "email" ? "email" : "phone";
  return fields
    .filter((f) => f.type === kind)
    .map((f) => record.fields[f.name])
    .filter((v): v is string => typeof v === "string" && v !== "");
}

/** Someone of the customer's a message or a call may go to: an address or number, whose it is. */
export interface Reachable {
  address: string;
  who: string;
  contact?: string;
}

/** The customer's and its contacts' addresses (email) or numbers (SMS, calls), and its contacts. */
export function useReachable(record: R["Record"], fields: FieldDef[], channel: Channel) {
  const id = record.id;
  const related = useLoad(() => ok(api().records.GET("/customers/{id}/related", { params: { path: { id } } })), [id]);
  const contactSchema = useLoad(() => moduleSchema("Contact"), []);
  const contacts = related.data?.contacts ?? [];
  const reachable: Reachable[] = [
    ...addressesOf(record, fields, channel).map((address) => ({ address, who: recordTitle(record.fields, id) })),
    ...contacts.flatMap((c) => addressesOf(c, contactSchema.data?.fields ?? [], channel).map((address) => ({ address, who: recordTitle(c.fields, c.id), contact: c.id }))),
  ];
  return { reachable, contacts, problem: related.problem ?? contactSchema.problem };
}

/**
 * Email and SMS from the customer page (seed 003 §3.4, §3.5): to the customer or its contacts,
 * from a template or typed, the SMS's segments counted before sending; a double click or a
 * retry sends once. Below, the customer's messages with their status, filtered by contact and
 * direction.
 */
export function MessagePanel({ record, fields }: { record: R["Record"]; fields: FieldDef[] }) {
  const t = useT();
  const id = record.id;
  const [channel, setChannel] = useState<Channel>("email");
  const [contact, setContact] = useState("");
  const [direction, setDirection] = useState<"" | "Outgoing" | "Incoming">("");
  const { reachable: recipients, contacts, problem } = useReachable(record, fields, channel);
  // A page at a time: a customer's email history grows for years.
  const history = usePages(
    (cursor) =>
      ok(
        api().records.GET("/customers/{id}/messages", {
          params: { path: { id }, query: { contact: contact || undefined, direction: direction || undefined, limit: 25, cursor } },
        }),
      ),
    [id, contact, direction],
  );
  return (
    <div data-testid="messages">
      <Compose
        key={channel}
        customer={id}
        channel={channel}
        onChannel={setChannel}
        recipients={recipients}
        onSent={history.reload}
      />
      <ProblemBanner problem={problem ?? history.problem} onReload={history.reload} />
      <h3>{t("messages.history")}</h3>
      <div className="toolbar">
        <label>
          {t("messages.contact")}{" "}
          <select aria-label={t("messages.contact")} value={contact} onChange={(e) => setContact(e.target.value)}>
            <option value="">{t("messages.allContacts")}</option>
            {contacts.map((c) => (
              <option key={c.id} value={c.id}>
                {recordTitle(c.fields, c.id)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("messages.direction")}{" "}
          <select aria-label={t("messages.direction")} value={direction} onChange={(e) => setDirection(e.target.value as typeof direction)}>
            <option value="">{t("messages.allDirections")}</option>
            <option value="Outgoing">{t("messages.Outgoing")}</option>
            <option value="Incoming">{t("messages.Incoming")}</option>
          </select>
        </label>
        {/* The status a message reads changes as the executor sends it. */}
        <button type="button" disabled={history.loading} onClick={history.reload}>
          {t("action.reload")}
        </button>
      </div>
      {!history.loading && history.items.length === 0 && !history.more && <p>{t("messages.none")}</p>}
      <ul className="timeline">
        {history.items.map((m) => (
          <li key={m.id} data-status={String(m.fields.Status ?? "")}>
            <strong>{m.fields.Channel === "Sms" ? "SMS" : "Email"}</strong>{" "}
            {m.fields.Direction === "Incoming" ? t("messages.fromWho").replace("{who}", String(m.fields.From ?? "")) : t("messages.toWho").replace("{who}", String(m.fields.To ?? ""))}{" "}
            <span className={`badge message-${String(m.fields.Status ?? "")}`}>{t(`messages.status.${String(m.fields.Status ?? "Queued")}` as Key)}</span>{" "}
            {m.fields.Subject ? <span>{String(m.fields.Subject)}</span> : <span className="muted">{String(m.fields.Body ?? "").slice(0, 160)}</span>}{" "}
            <span className="muted">({new Date(String(m.fields.SentAt ?? m.fields.CreatedAt ?? "")).toLocaleString(t.locale)})</span>
            {typeof m.fields.Error === "string" && m.fields.Error !== "" && <span className="error"> · {m.fields.Error}</span>}
            {/* A message read from a mailbox: its text excerpt and its attachments' names. */}
            {typeof m.fields.Mailbox === "string" && m.fields.Subject !== undefined && typeof m.fields.Body === "string" && <p className="muted excerpt">{m.fields.Body.slice(0, 300)}</p>}
            {typeof m.fields.Attachments === "string" && m.fields.Attachments !== "" && (
              <p className="muted">{t("messages.attachments").replace("{names}", m.fields.Attachments.split("\n").join(", "))}</p>
            )}
          </li>
        ))}
      </ul>
      {history.more && (
        <button type="button" disabled={history.loading} onClick={history.more}>
          {t("action.more")}
        </button>
      )}
    </div>
  );
}

/** The compose form of one channel: a change of channel starts a new message. */
function Compose({
  customer,
  channel,
  onChannel,
  recipients,
  onSent,
}: {
  customer: string;
  channel: Channel;
  onChannel: (c: Channel) => void;
  recipients: Reachable[];
  onSent: () => void;
}) {
  const t = useT();
  const senders = useLoad(() => settingsOf(channel === "email" ? "email-senders" : "sms-providers"), [channel]);
  const templates = useLoad(() => settingsOf(channel === "email" ? "email-templates" : "sms-templates"), [channel]);
  const usable = (templates.data ?? []).filter((s) => !("module" in s) || s.module === "Customer");
  const [sender, setSender] = useState("");
  const [template, setTemplate] = useState("");
  const [to, setTo] = useState<string[]>([]);
  const [cc, setCc] = useState<string[]>([]);
  const [bcc, setBcc] = useState<string[]>([]);
  const [subject, setSubject] = useState("");
  const [body, setBody] = useState("");
  const [key, setKey] = useState(newKey);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  // A second click before the first answer is the same message: it waits here.
  const sending = useRef(false);
  const pick = (id: string) => {
    setTemplate(id);
    const chosen: Setting | undefined = usable.find((s) => s.id === id);
    if (chosen && "html_body" in chosen) {
      setSubject(chosen.subject);
      setBody(chosen.html_body);
    } else if (chosen && "body" in chosen && typeof chosen.body === "string") {
      setBody(chosen.body);
    }
  };
  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (sending.current) return;
    sending.current = true;
    setBusy(true);
    setDone(null);
    const contact = recipients.find((r) => r.contact && to.includes(r.address))?.contact;
    try {
      await ok(
        api().records.POST("/customers/{id}/messages", {
          params: { path: { id: customer } },
          body: {
            key,
            channel,
            sender,
            to,
            ...(channel === "email" ? { cc, bcc, subject } : {}),
            body,
            ...(contact ? { contact } : {}),
            ...(template ? { template } : {}),
          },
        }),
      );
      setDone(t("messages.queued"));
      setProblem(null);
      setSubject("");
      setBody("");
      setTemplate("");
      // The next message is another one.
      setKey(newKey());
      onSent();
    } catch (err) {
      const p = asProblem(err);
      setProblem(p);
      // A refusal wrote nothing: what the user sends next is a message of its own. After no
      // answer (the network, a 5xx) it may have been queued: the same key finds it.
      if (p.status >= 400 && p.status < 500) setKey(newKey());
    } finally {
      sending.current = false;
      setBusy(false);
    }
  };
  return (
    <FormProblem.Provider value={problem}>
      <form noValidate className="panel" onSubmit={send} aria-label={t("messages.compose")}>
        <h3>{t("messages.compose")}</h3>
        <fieldset>
          <legend>{t("messages.channel")}</legend>
          {(["email", "sms"] as const).map((c) => (
            <label key={c}>
              <input type="radio" name="channel" checked={channel === c} onChange={() => onChannel(c)} /> {c === "email" ? "Email" : "SMS"}
            </label>
          ))}
        </fieldset>
        <ProblemBanner problem={senders.problem ?? templates.problem} onReload={senders.reload} />
        <Field label={t(channel === "email" ? "messages.sender.email" : "messages.sender.sms")} pointer="/sender">
          {(fid, d) => (
            <select id={fid} aria-describedby={d} value={sender} onChange={(e) => setSender(e.target.value)}>
              <option value="">{t("choose")}</option>
              {(senders.data ?? []).map((s) => (
                <option key={s.id} value={s.id}>
                  {settingName(s)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("messages.to")} pointer="/to">
          {(fid, d) => (
            <div id={fid} aria-describedby={d} role="group">
              {recipients.length === 0 && <p className="muted">{t(channel === "email" ? "messages.noEmail" : "messages.noPhone")}</p>}
              {recipients.map((r) => (
                <label key={`${r.contact ?? ""}${r.address}`}>
                  <input
                    type="checkbox"
                    checked={to.includes(r.address)}
                    onChange={(e) => setTo(e.target.checked ? [...to, r.address] : to.filter((a) => a !== r.address))}
                  />{" "}
                  {r.who} &lt;{r.address}&gt;
                </label>
              ))}
            </div>
          )}
        </Field>
        {channel === "email" && (
          <>
            <Field label="Cc" pointer="/cc">
              {(fid, d) => <ListInput id={fid} aria-describedby={d} inputMode="email" value={cc} onChange={setCc} />}
            </Field>
            <Field label="Bcc" pointer="/bcc">
              {(fid, d) => <ListInput id={fid} aria-describedby={d} inputMode="email" value={bcc} onChange={setBcc} />}
            </Field>
          </>
        )}
        <Field label={t("messages.template")} pointer="/template">
          {(fid, d) => (
            <select id={fid} aria-describedby={d} value={template} onChange={(e) => pick(e.target.value)}>
              <option value="">{t("messages.noTemplate")}</option>
              {usable.map((s) => (
                <option key={s.id} value={s.id}>
                  {settingName(s)}
                </option>
              ))}
            </select>
          )}
        </Field>
        {channel === "email" && (
          <Field label={t("messages.subject")} pointer="/subject">
            {(fid, d) => <input id={fid} aria-describedby={d} value={subject} onChange={(e) => setSubject(e.target.value)} />}
          </Field>
        )}
        <Field label={t(channel === "email" ? "messages.body.email" : "messages.body.sms")} pointer="/body">
          {(fid, d) => <textarea id={fid} aria-describedby={d} rows={channel === "email" ? 8 : 4} value={body} onChange={(e) => setBody(e.target.value)} />}
        </Field>
        {channel === "sms" && (
          <p className="muted" data-testid="segments">
            {t("settings.segments").replace("{chars}", String(body.length)).replace("{segments}", String(smsSegments(body))).replace("{per}", String(SMS_SEGMENT))}
          </p>
        )}
        <ProblemBanner problem={problem} shownPointers={["/sender", "/to", "/cc", "/bcc", "/template", "/subject", "/body"]} />
        {done && <p role="status">{done}</p>}
        <button type="submit" className="primary" disabled={busy}>
          {t("messages.send")}
        </button>
      </form>
    </FormProblem.Provider>
  );
}

import { useState, type FormEvent } from "react";
import { asProblem, api, ApiProblem, ok } from "../../api/client";
import { fieldLabel, moduleSchema, type FieldDef } from "../../api/modules";
import { users, type SettingSlug } from "../../api/settings";
import { ModuleSelect, UserSelect } from "../../components/Pickers";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { ConditionBuilder } from "../workflows/ConditionBuilder";
import { MergeText } from "../workflows/MergeText";
import { get, set, type Body, type Member, type SettingFormSpec } from "./forms";
import { MergePreview } from "./MergePreview";
import { SMS_SEGMENT, smsSegments } from "./segments";

/** A setting's form, member by member as its kind's spec lists them; saved with its ETag. */
export function SettingForm({
  slug,
  spec,
  initial,
  onDone,
  onCancel,
}: {
  slug: SettingSlug;
  spec: SettingFormSpec;
  initial: { id?: string; etag?: string; body: Body };
  onDone: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const [body, setBody] = useState<Body>(initial.body);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const module = typeof body.module === "string" ? body.module : "Customer";
  const schema = useLoad(() => moduleSchema(module), [module]);
  const fields = schema.data?.fields ?? [];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      // The body's shape is the kind's (checked by the API); the client types one union for all.
      const sent = body as never;
      if (initial.id) {
        await ok(api().workflows.PUT("/settings/{kind}/{id}", { params: { path: { kind: slug, id: initial.id }, header: { "If-Match": initial.etag ?? "" } }, body: sent }));
      } else {
        await ok(api().workflows.POST("/settings/{kind}", { params: { path: { kind: slug } }, body: sent }));
      }
      onDone();
    } catch (err) {
      // The form keeps every value: the user fixes what is pointed at and saves again.
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormProblem.Provider value={problem}>
      <div className="with-preview">
        <form noValidate className="panel" onSubmit={submit} aria-label={t(initial.id ? "action.edit" : "settings.add")}>
          <ProblemBanner problem={schema.problem} />
          {spec.members
            .filter((m) => !m.when || m.when(body))
            .map((m) => (
              <MemberInput key={m.path} member={m} body={body} fields={fields} onChange={(value) => setBody(m.onSet ? m.onSet(body, value) : set(body, m.path, value))} />
            ))}
          {slug === "sms-templates" && <SmsSegments text={String(body.body ?? "")} />}
          <ProblemBanner problem={problem} />
          <div className="toolbar">
            <button type="submit" className="primary" disabled={busy}>
              {t("action.save")}
            </button>
            <button type="button" onClick={onCancel}>
              {t("action.cancel")}
            </button>
          </div>
        </form>
        {spec.preview && <MergePreview key={module} module={module} texts={spec.preview.map((p) => ({ label: labelOf(spec, p.path), text: String(get(body, p.path) ?? ""), html: p.html }))} />}
      </div>
    </FormProblem.Provider>
  );
}

function labelOf(spec: SettingFormSpec, path: string): Key {
  return spec.members.find((m) => m.path === path)?.label ?? "settings.body";
}

function SmsSegments({ text }: { text: string }) {
  const t = useT();
  return (
    <p className="hint" data-testid="sms-segments">
      {t("settings.segments").replace("{chars}", String(text.length)).replace("{segments}", String(smsSegments(text))).replace("{per}", String(SMS_SEGMENT))}
    </p>
  );
}

/** One member, typed as its spec says, with the API's message for its pointer beside it. */
function MemberInput({ member: m, body, fields, onChange }: { member: Member; body: Body; fields: FieldDef[]; onChange: (value: unknown) => void }) {
  const t = useT();
  const pointer = "/" + m.path.replace(/\./g, "/");
  const value = get(body, m.path);
  const hint = m.hint ? t(m.hint) : undefined;
  if (m.input === "merge" || m.input === "merge-long") {
    return <MergeText label={t(m.label)} pointer={pointer} value={typeof value === "string" ? value : ""} onChange={onChange} fields={fields} multiline={m.input === "merge-long"} />;
  }
  if (m.input === "condition") {
    return (
      <fieldset>
        <legend>{t(m.label)}</legend>
        <ConditionBuilder value={(value as never) ?? { type: "all_records" }} onChange={onChange} fields={fields} withChanges={false} pointer={pointer} />
      </fieldset>
    );
  }
  if (m.input === "bool") {
    return (
      <label className="checkbox">
        <input type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
        {t(m.label)}
      </label>
    );
  }
  if (m.input === "weights") return <Weights label={t(m.label)} pointer={pointer} body={body} onChange={onChange} />;
  if (m.input === "extensions") return <Extensions label={t(m.label)} hint={hint} pointer={pointer} value={(value as Record<string, string>) ?? {}} onChange={onChange} />;
  const blank = (v: unknown) => (m.optional && (v === "" || v === null) ? undefined : v);
  return (
    <Field label={t(m.label)} pointer={pointer} hint={hint}>
      {(id, d) => {
        const common = { id, "aria-describedby": d };
        switch (m.input) {
          case "module":
            return <ModuleSelect {...common} value={String(value ?? "")} only={m.modules} onChange={onChange} />;
          case "user":
          case "users":
            return <UserSelect {...common} multiple={m.input === "users"} value={value} onChange={onChange} />;
          case "fields":
            return (
              <select {...common} multiple value={(value as string[]) ?? []} onChange={(e) => onChange(Array.from(e.target.selectedOptions, (o) => o.value))}>
                {fields
                  .filter((f) => !f.read_only)
                  .map((f) => (
                    <option key={f.name} value={f.name}>
                      {fieldLabel(f, t.lang)}
                    </option>
                  ))}
              </select>
            );
          case "lines":
            return <Lines {...common} value={(value as string[]) ?? []} onChange={onChange} />;
          case "pairs":
            return <Pairs {...common} value={(value as Body) ?? {}} onChange={onChange} />;
          case "number":
            return <input {...common} type="number" value={value == null ? "" : String(value)} onChange={(e) => onChange(blank(e.target.value === "" ? "" : Number(e.target.value)))} />;
          default:
            if (typeof m.input === "object") {
              const words = m.input.words;
              return (
                <select {...common} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)}>
                  {m.input.options.map((o) => (
                    <option key={o} value={o}>
                      {words ? t(`${words}.${o}` as Key) : o}
                    </option>
                  ))}
                </select>
              );
            }
            return <input {...common} type={m.input} value={value == null ? "" : String(value)} onChange={(e) => onChange(blank(e.target.value))} />;
        }
      }}
    </Field>
  );
}

type Common = { id: string; "aria-describedby": string | undefined };

/** One string per line; blank lines are dropped when saved, not while typing. */
function Lines({ value, onChange, ...common }: Common & { value: string[]; onChange: (v: string[]) => void }) {
  const [text, setText] = useState(value.join("\n"));
  return (
    <textarea
      {...common}
      rows={4}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(e.target.value.split("\n").map((l) => l.trim()).filter(Boolean));
      }}
    />
  );
}

/** A value typed after `=`: a number, true, false or JSON as such, anything else as text. */
function typed(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? text : value;
  } catch {
    return text;
  }
}

/** `Field=value` per line; a line without `=` is pointed out, not dropped. */
function Pairs({ value, onChange, ...common }: Common & { value: Body; onChange: (v: Body) => void }) {
  const t = useT();
  const [text, setText] = useState(
    Object.entries(value)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join("\n"),
  );
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const bad = lines.filter((l) => !l.includes("="));
  return (
    <>
      <textarea
        {...common}
        rows={3}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          const pairs = e.target.value
            .split("\n")
            .filter((l) => l.includes("="))
            .map((l) => l.split("="))
            .filter(([k]) => k.trim() !== "")
            .map(([k, ...v]) => [k.trim(), typed(v.join("=").trim())]);
          onChange(Object.fromEntries(pairs));
        }}
      />
      {bad.length > 0 && <small className="field-error">{t("settings.pairsWithoutValue").replace("{lines}", bad.join(", "))}</small>}
    </>
  );
}

/** Each user's extension on a switchboard; a blank one leaves the user without. */
function Extensions({ label, hint, pointer, value, onChange }: { label: string; hint?: string; pointer: string; value: Record<string, string>; onChange: (v: unknown) => void }) {
  const people = useLoad(users, []);
  const t = useT();
  const change = (user: string, extension: string) => {
    const { [user]: _old, ...rest } = value;
    onChange(extension.trim() === "" ? rest : { ...rest, [user]: extension.trim() });
  };
  return (
    <fieldset>
      <legend>{label}</legend>
      {hint && <p className="hint">{hint}</p>}
      <ProblemBanner problem={people.problem} onReload={people.reload} />
      {(people.data ?? []).length === 0 && !people.loading && !people.problem && <p className="hint">{t("settings.noUsers")}</p>}
      {(people.data ?? []).map((user) => (
        <Field key={user.id} label={user.name || user.id} pointer={`${pointer}/${user.id}`}>
          {(id, d) => <input id={id} aria-describedby={d} inputMode="numeric" value={value[user.id] ?? ""} onChange={(e) => change(user.id, e.target.value)} />}
        </Field>
      ))}
    </fieldset>
  );
}

/** A weight from 1 to 100 for each of the rule's users, in their order. */
function Weights({ label, pointer, body, onChange }: { label: string; pointer: string; body: Body; onChange: (v: unknown) => void }) {
  const t = useT();
  const people = useLoad(users, []);
  const chosen = (body.users as string[]) ?? [];
  const weights = (get(body, "strategy.weights") as { user: string; weight: number }[]) ?? [];
  const weightOf = (user: string) => weights.find((w) => w.user === user)?.weight ?? 1;
  const change = (user: string, weight: number) => onChange(chosen.map((u) => ({ user: u, weight: u === user ? weight : weightOf(u) })));
  return (
    <fieldset>
      <legend>{label}</legend>
      {chosen.length === 0 && <p className="hint">{t("allocation.weightsNone")}</p>}
      {chosen.map((user, i) => (
        <Field key={user} label={(people.data ?? []).find((u) => u.id === user)?.name || user} pointer={`${pointer}/${i}/weight`}>
          {(id, d) => <input id={id} aria-describedby={d} type="number" min={1} max={100} value={weightOf(user)} onChange={(e) => change(user, Number(e.target.value))} />}
        </Field>
      ))}
    </fieldset>
  );
}

import type { W } from "../../api/client";
import { fieldLabel, type FieldDef } from "../../api/modules";
import { Field } from "../../components/Problem";
import { useT, type Key } from "../../i18n";
import type { Choices } from "./ActionForms";
import { ApprovalForm } from "./ApprovalForm";
import { ScoreForm } from "./ScoreForm";

type TimeTrigger = Extract<W["Trigger"], { type: "time" }>;
type EventTrigger = Extract<W["Trigger"], { type: "record_event" }>;

/**
 * The first step, by the workflow's kind: a care workflow's date-relative time, a work
 * workflow's record event, a scoring rule's criteria, an approval workflow's steps.
 */
export function TriggerForm({
  trigger,
  onChange,
  fields,
  choices,
  module,
}: {
  trigger: W["Trigger"];
  onChange: (t: W["Trigger"]) => void;
  fields: FieldDef[];
  choices: Choices;
  module: string;
}) {
  switch (trigger.type) {
    case "time":
      return <TimeForm trigger={trigger} onChange={onChange} fields={fields} />;
    case "record_event":
      return <EventForm trigger={trigger} onChange={onChange} fields={fields} />;
    case "score":
      return <ScoreForm trigger={trigger} onChange={onChange} fields={fields} />;
    case "approval":
      return <ApprovalForm trigger={trigger} onChange={onChange} fields={fields} users={choices.users} senders={choices.email_sender} module={module} />;
  }
}

function TimeForm({ trigger, onChange, fields }: { trigger: TimeTrigger; onChange: (t: TimeTrigger) => void; fields: FieldDef[] }) {
  const t = useT();
  const dateFields = fields.filter((f) => f.type === "date" || f.type === "date_time");
  const offset = trigger.offset ?? { amount: 0, unit: "days", direction: "after" };
  const catchUp = trigger.catch_up ?? { policy: "latest_only", max_lateness_minutes: 1440 };
  const set = (patch: Partial<TimeTrigger>) => onChange({ ...trigger, ...patch });
  return (
    <fieldset>
      <legend>{t("editor.when")}</legend>
      <Field label={t("when.dateField")} pointer="/trigger/date_field">
        {(id, d) => (
          <select id={id} aria-describedby={d} value={trigger.date_field} onChange={(e) => set({ date_field: e.target.value })}>
            <option value="">{t("choose")}</option>
            {dateFields.map((f) => (
              <option key={f.name} value={f.name}>
                {fieldLabel(f, t.lang)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="row">
        <Field label={t("when.offset")} pointer="/trigger/offset/amount">
          {(id, d) => (
            <input id={id} aria-describedby={d} type="number" min={0} value={offset.amount} onChange={(e) => set({ offset: { ...offset, amount: Number(e.target.value) } })} />
          )}
        </Field>
        <Field label={t("when.unit")} pointer="/trigger/offset/unit">
          {(id, d) => (
            <select id={id} aria-describedby={d} value={offset.unit} onChange={(e) => set({ offset: { ...offset, unit: e.target.value as W["OffsetUnit"] } })}>
              {(["minutes", "hours", "days", "months"] as const).map((u) => (
                <option key={u} value={u}>
                  {t(`unit.${u}` as Key)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("when.direction")} pointer="/trigger/offset/direction">
          {(id, d) => (
            <select id={id} aria-describedby={d} value={offset.direction} onChange={(e) => set({ offset: { ...offset, direction: e.target.value as W["Direction"] } })}>
              <option value="before">{t("direction.before")}</option>
              <option value="after">{t("direction.after")}</option>
            </select>
          )}
        </Field>
      </div>
      <Field label={t("when.recurrence")} pointer="/trigger/recurrence">
        {(id, d) => (
          <select id={id} aria-describedby={d} value={trigger.recurrence} onChange={(e) => set({ recurrence: e.target.value as W["Recurrence"] })}>
            <option value="once">{t("recurrence.once")}</option>
            <option value="yearly">{t("recurrence.yearly")}</option>
          </select>
        )}
      </Field>
      <Field label={t("when.timeOfDay")} pointer="/trigger/time_of_day" hint={t("when.dstHint")}>
        {(id, d) => (
          <input id={id} aria-describedby={d} type="time" value={(trigger.time_of_day ?? "").slice(0, 5)} onChange={(e) => set({ time_of_day: e.target.value || null })} />
        )}
      </Field>
      <p className="hint">{t("when.timeZoneSource")}</p>
      {trigger.recurrence === "yearly" && (
        <Field label={t("when.feb29")} pointer="/trigger/feb29" hint={t("when.movedDateHint")}>
          {(id, d) => (
            <select id={id} aria-describedby={d} value={trigger.feb29 ?? ""} onChange={(e) => set({ feb29: (e.target.value || null) as W["Feb29Policy"] | null })}>
              <option value="">{t("when.feb29.default")}</option>
              <option value="feb28">{t("when.feb29.feb28")}</option>
              <option value="mar1">{t("when.feb29.mar1")}</option>
              <option value="skip">{t("when.feb29.skip")}</option>
            </select>
          )}
        </Field>
      )}
      <div className="row">
        <Field label={t("when.catchUp")} pointer="/trigger/catch_up/policy">
          {(id, d) => (
            <select id={id} aria-describedby={d} value={catchUp.policy} onChange={(e) => set({ catch_up: { ...catchUp, policy: e.target.value as W["CatchUpPolicy"] } })}>
              <option value="skip">{t("when.catchUp.skip")}</option>
              <option value="latest_only">{t("when.catchUp.latest_only")}</option>
              <option value="all">{t("when.catchUp.all")}</option>
            </select>
          )}
        </Field>
        <Field label={t("when.maxLateness")} pointer="/trigger/catch_up/max_lateness_minutes">
          {(id, d) => (
            <input id={id} aria-describedby={d} type="number" min={0} value={catchUp.max_lateness_minutes ?? 1440} onChange={(e) => set({ catch_up: { ...catchUp, max_lateness_minutes: Number(e.target.value) } })} />
          )}
        </Field>
      </div>
    </fieldset>
  );
}

function EventForm({ trigger, onChange, fields }: { trigger: EventTrigger; onChange: (t: EventTrigger) => void; fields: FieldDef[] }) {
  const t = useT();
  const set = (patch: Partial<EventTrigger>) => onChange({ ...trigger, ...patch });
  const watched = trigger.watched_fields ?? [];
  return (
    <fieldset>
      <legend>{t("editor.when")}</legend>
      <Field label={t("event.on")} pointer="/trigger/on">
        {(id, d) => (
          <select id={id} aria-describedby={d} value={trigger.on} onChange={(e) => set({ on: e.target.value as W["RecordEvent"], watched_fields: e.target.value === "created" ? [] : watched })}>
            {(["created", "updated", "created_or_updated"] as const).map((on) => (
              <option key={on} value={on}>
                {t(`event.${on}` as Key)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {trigger.on !== "created" && (
        <Field label={t("event.watched")} pointer="/trigger/watched_fields" hint={t("event.watchedHint")}>
          {(id, d) => (
            <select id={id} aria-describedby={d} multiple value={watched} onChange={(e) => set({ watched_fields: Array.from(e.target.selectedOptions, (o) => o.value) })}>
              {fields
                .filter((f) => !f.read_only)
                .map((f) => (
                  <option key={f.name} value={f.name}>
                    {fieldLabel(f, t.lang)}
                  </option>
                ))}
            </select>
          )}
        </Field>
      )}
      <label className="checkbox">
        <input type="checkbox" checked={trigger.repeat_on_every_edit ?? false} onChange={(e) => set({ repeat_on_every_edit: e.target.checked })} />
        {t("event.repeat")}
      </label>
      <Field label={t("event.throttle")} pointer="/trigger/throttle_minutes">
        {(id, d) => (
          <input id={id} aria-describedby={d} type="number" min={1} value={trigger.throttle_minutes ?? ""} onChange={(e) => set({ throttle_minutes: e.target.value === "" ? null : Number(e.target.value) })} />
        )}
      </Field>
    </fieldset>
  );
}

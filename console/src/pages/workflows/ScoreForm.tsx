import type { W } from "../../api/client";
import { fieldLabel, type FieldDef } from "../../api/modules";
import { Field } from "../../components/Problem";
import { useT } from "../../i18n";
import { ConditionBuilder } from "./ConditionBuilder";

type ScoreTrigger = Extract<W["Trigger"], { type: "score" }>;
type Criterion = W["ScoringCriterion"];

const numeric = (f: FieldDef) => (f.type === "number" || f.type === "money") && !f.read_only;
/** The score goes to one of the tenant's own number fields. */
const scoreField = (f: FieldDef) => f.type === "number" && f.custom === true && !f.read_only;

/** A whole number typed in a box, or nothing when the box is blank. */
const whole = (text: string) => (text === "" ? undefined : Number(text));

/** The "When" of a scoring rule: the field the score goes to, its bounds, and the criteria. */
export function ScoreForm({ trigger, onChange, fields }: { trigger: ScoreTrigger; onChange: (t: ScoreTrigger) => void; fields: FieldDef[] }) {
  const t = useT();
  const set = (patch: Partial<ScoreTrigger>) => onChange({ ...trigger, ...patch });
  const criteria = trigger.criteria ?? [];
  const change = (i: number, c: Criterion) => set({ criteria: criteria.map((x, j) => (j === i ? c : x)) });
  return (
    <fieldset>
      <legend>{t("score.title")}</legend>
      <p className="hint">{t("score.hint")}</p>
      <Field label={t("score.field")} pointer="/trigger/score_field" hint={t("score.fieldHint")}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={trigger.score_field} onChange={(e) => set({ score_field: e.target.value })}>
            <option value="">{t("choose")}</option>
            {fields.filter(scoreField).map((f) => (
              <option key={f.name} value={f.name}>
                {fieldLabel(f, t.lang)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="row">
        <Field label={t("score.min")} pointer="/trigger/min">
          {(id, d) => <input id={id} aria-describedby={d} type="number" value={trigger.min ?? ""} onChange={(e) => set({ min: whole(e.target.value) })} />}
        </Field>
        <Field label={t("score.max")} pointer="/trigger/max">
          {(id, d) => <input id={id} aria-describedby={d} type="number" value={trigger.max ?? ""} onChange={(e) => set({ max: whole(e.target.value) })} />}
        </Field>
      </div>
      {criteria.map((c, i) => {
        const at = `/trigger/criteria/${i}`;
        return (
          <div key={i} className="panel" data-testid="criterion">
            <h3>
              {t("score.criterion")} {i + 1}
            </h3>
            <div className="row">
              <Field label={t("score.criterionName")} pointer={`${at}/name`}>
                {(id, d) => <input id={id} aria-describedby={d} value={c.name} onChange={(e) => change(i, { ...c, name: e.target.value })} />}
              </Field>
              <Field label={t("score.points")} pointer={`${at}/points`} hint={t("score.pointsHint")}>
                {(id, d) => <input id={id} aria-describedby={d} type="number" value={c.points} onChange={(e) => change(i, { ...c, points: Number(e.target.value) })} />}
              </Field>
              <Field label={t("score.per")} pointer={`${at}/per`}>
                {(id, d) => (
                  <select id={id} aria-describedby={d} value={c.per ?? ""} onChange={(e) => change(i, { ...c, per: e.target.value || undefined })}>
                    <option value="">{t("score.once")}</option>
                    {fields.filter((f) => numeric(f) && f.name !== trigger.score_field).map((f) => (
                      <option key={f.name} value={f.name}>
                        {fieldLabel(f, t.lang)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label={t("score.cap")} pointer={`${at}/cap`}>
                {(id, d) => <input id={id} aria-describedby={d} type="number" min={1} value={c.cap ?? ""} onChange={(e) => change(i, { ...c, cap: whole(e.target.value) })} />}
              </Field>
            </div>
            <ConditionBuilder value={c.condition} onChange={(condition) => change(i, { ...c, condition })} fields={fields.filter((f) => f.name !== trigger.score_field)} withChanges={false} pointer={`${at}/condition`} />
            <button type="button" onClick={() => set({ criteria: criteria.filter((_, j) => j !== i) })}>
              {t("score.removeCriterion")}
            </button>
          </div>
        );
      })}
      <button type="button" onClick={() => set({ criteria: [...criteria, { name: "", points: 10, condition: { type: "all_records" } }] })}>
        + {t("score.addCriterion")}
      </button>
    </fieldset>
  );
}

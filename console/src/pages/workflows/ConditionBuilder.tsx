import { useEffect } from "react";
import type { W } from "../../api/client";
import { fieldLabel, type FieldDef } from "../../api/modules";
import { Field } from "../../components/Problem";
import { useT, type Key } from "../../i18n";

type Condition = W["Condition"];
type Group = W["Group"];
type Clause = W["Clause"];
type Rule = W["Rule"];
type Operator = W["Operator"];

const TEXT_OPS: Operator[] = ["equals", "not_equals", "contains", "not_contains", "starts_with", "in_list", "not_in_list"];
const EXACT_OPS: Operator[] = ["equals", "not_equals", "in_list", "not_in_list"];
const NUMBER_OPS: Operator[] = ["equals", "not_equals", "greater_than", "greater_or_equal", "less_than", "less_or_equal", "between"];
const DATE_OPS: Operator[] = [...NUMBER_OPS, "within_last_days", "within_next_days", "more_than_days_ago"];
const NO_VALUE: Operator[] = ["is_empty", "is_not_empty", "changed"];
const DAY_OPS: Operator[] = ["within_last_days", "within_next_days", "more_than_days_ago"];

/** The operators a field's type takes (as the Operator schema lists them). */
export function operatorsFor(field: FieldDef | undefined, withChanges: boolean): Operator[] {
  let ops: Operator[];
  switch (field?.type) {
    case "number":
    case "money":
      ops = NUMBER_OPS;
      break;
    case "date":
    case "date_time":
      ops = DATE_OPS;
      break;
    case "boolean":
      ops = ["equals", "not_equals"];
      break;
    case "multi_pick_list":
      ops = ["contains", "not_contains"];
      break;
    case "pick_list":
    case "user":
    case "reference":
    case "time_zone":
      ops = EXACT_OPS;
      break;
    default:
      ops = TEXT_OPS;
  }
  const changes: Operator[] = withChanges ? (field?.type === "multi_pick_list" ? ["changed"] : ["changed", "changed_to"]) : [];
  return [...ops, "is_empty", "is_not_empty", ...changes];
}

/** Fields a condition may test: not the read-only score breakdown or approval lock. */
export function testableFields(fields: FieldDef[]): FieldDef[] {
  return fields.filter((f) => f.type !== "score_breakdown" && f.type !== "approval");
}

export function ConditionBuilder({
  value,
  onChange,
  fields,
  withChanges,
  pointer = "/condition",
}: {
  value: Condition;
  onChange: (c: Condition) => void;
  fields: FieldDef[];
  withChanges: boolean;
  pointer?: string;
}) {
  const t = useT();
  const firstClause = (): Clause => ({ field: testableFields(fields)[0]?.name ?? "", op: "is_not_empty" });
  if (fields.length === 0) {
    // Clauses are typed by the module's fields: nothing is offered before they are known.
    return <p aria-busy="true">{t("loading")}</p>;
  }
  return (
    <fieldset className="condition">
      <legend>{t("editor.condition")}</legend>
      <div role="radiogroup" aria-label={t("editor.condition")}>
        {(["all_records", "matching", "formula"] as const).map((type) => (
          <label key={type} className="radio">
            <input
              type="radio"
              name={`${pointer}-type`}
              checked={value.type === type}
              onChange={() =>
                onChange(
                  type === "all_records"
                    ? { type }
                    : type === "matching"
                      ? { type, group: { combine: "and", rules: [firstClause()] } }
                      : { type, clauses: [firstClause()], formula: "1" },
                )
              }
            />
            {t(`condition.${type}` as Key)}
          </label>
        ))}
      </div>
      {value.type === "matching" && (
        <GroupEditor
          group={value.group}
          onChange={(group) => onChange({ type: "matching", group })}
          fields={fields}
          withChanges={withChanges}
          pointer={`${pointer}/group`}
          depth={0}
        />
      )}
      {value.type === "formula" && (
        <div>
          <ol className="clauses">
            {value.clauses.map((clause, i) => (
              <li key={i}>
                <ClauseEditor
                  clause={clause}
                  fields={fields}
                  withChanges={withChanges}
                  pointer={`${pointer}/clauses/${i}`}
                  onChange={(c) => onChange({ ...value, clauses: value.clauses.map((x, j) => (j === i ? c : x)) })}
                  onRemove={
                    value.clauses.length > 1
                      ? () => onChange({ ...value, clauses: value.clauses.filter((_, j) => j !== i) })
                      : undefined
                  }
                />
              </li>
            ))}
          </ol>
          <button type="button" onClick={() => onChange({ ...value, clauses: [...value.clauses, firstClause()] })}>
            {t("condition.addClause")}
          </button>
          <Field label={t("condition.formula")} pointer={`${pointer}/formula`} hint={t("condition.formulaHint")}>
            {(id, describedBy) => (
              <input
                id={id}
                aria-describedby={describedBy}
                value={value.formula}
                onChange={(e) => onChange({ ...value, formula: e.target.value })}
              />
            )}
          </Field>
        </div>
      )}
    </fieldset>
  );
}

function isGroup(rule: Rule): rule is Group {
  return "rules" in rule;
}

function GroupEditor({
  group,
  onChange,
  fields,
  withChanges,
  pointer,
  depth,
}: {
  group: Group;
  onChange: (g: Group) => void;
  fields: FieldDef[];
  withChanges: boolean;
  pointer: string;
  depth: number;
}) {
  const t = useT();
  const set = (i: number, rule: Rule) => onChange({ ...group, rules: group.rules.map((r, j) => (j === i ? rule : r)) });
  const remove = (i: number) => onChange({ ...group, rules: group.rules.filter((_, j) => j !== i) });
  const newClause = (): Clause => ({ field: testableFields(fields)[0]?.name ?? "", op: "is_not_empty" });
  return (
    <div className="group" data-depth={depth}>
      <label>
        {t("condition.combine")}{" "}
        <select value={group.combine} onChange={(e) => onChange({ ...group, combine: e.target.value as Group["combine"] })}>
          <option value="and">{t("condition.and")}</option>
          <option value="or">{t("condition.or")}</option>
        </select>
      </label>
      <ul>
        {group.rules.map((rule, i) => (
          <li key={i}>
            {isGroup(rule) ? (
              <>
                <GroupEditor
                  group={rule}
                  onChange={(g) => set(i, g)}
                  fields={fields}
                  withChanges={withChanges}
                  pointer={`${pointer}/rules/${i}`}
                  depth={depth + 1}
                />
                {group.rules.length > 1 && (
                  <button type="button" onClick={() => remove(i)}>
                    {t("condition.removeGroup")}
                  </button>
                )}
              </>
            ) : (
              <ClauseEditor
                clause={rule}
                fields={fields}
                withChanges={withChanges}
                pointer={`${pointer}/rules/${i}`}
                onChange={(c) => set(i, c)}
                onRemove={group.rules.length > 1 ? () => remove(i) : undefined}
              />
            )}
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => onChange({ ...group, rules: [...group.rules, newClause()] })}>
        {t("condition.addClause")}
      </button>
      {depth < 7 && (
        <button
          type="button"
          onClick={() => onChange({ ...group, rules: [...group.rules, { combine: group.combine === "and" ? "or" : "and", rules: [newClause()] }] })}
        >
          {t("condition.addGroup")}
        </button>
      )}
    </div>
  );
}

function ClauseEditor({
  clause,
  fields,
  withChanges,
  pointer,
  onChange,
  onRemove,
}: {
  clause: Clause;
  fields: FieldDef[];
  withChanges: boolean;
  pointer: string;
  onChange: (c: Clause) => void;
  onRemove?: () => void;
}) {
  const t = useT();
  const field = fields.find((f) => f.name === clause.field);
  const ops = operatorsFor(field, withChanges);
  // A clause added before the module's fields had loaded names none yet: it takes the first
  // field once they are there, so that what the select shows is what is saved.
  const first = testableFields(fields)[0]?.name;
  useEffect(() => {
    if (!clause.field && first) onChange({ field: first, op: clause.op });
  }, [clause.field, clause.op, first, onChange]);
  return (
    <div className="clause">
      <Field label={t("condition.field")} pointer={`${pointer}/field`}>
        {(id, describedBy) => (
          <select
            id={id}
            aria-describedby={describedBy}
            value={clause.field}
            onChange={(e) => {
              const next = fields.find((f) => f.name === e.target.value);
              const op = operatorsFor(next, withChanges).includes(clause.op) ? clause.op : "is_not_empty";
              onChange({ field: e.target.value, op });
            }}
          >
            {!field && <option value={clause.field}>{clause.field || t("choose")}</option>}
            {testableFields(fields).map((f) => (
              <option key={f.name} value={f.name}>
                {fieldLabel(f, t.lang)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t("condition.operator")} pointer={`${pointer}/op`}>
        {(id, describedBy) => (
          <select
            id={id}
            aria-describedby={describedBy}
            value={clause.op}
            onChange={(e) => {
              const op = e.target.value as Operator;
              onChange(NO_VALUE.includes(op) ? { field: clause.field, op } : { ...clause, op, value: undefined });
            }}
          >
            {ops.map((op) => (
              <option key={op} value={op}>
                {t(`op.${op}` as Key)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {!NO_VALUE.includes(clause.op) && (
        <Field label={t("condition.value")} pointer={`${pointer}/value`}>
          {(id, describedBy) => (
            <ValueInput id={id} describedBy={describedBy} field={field} op={clause.op} value={clause.value} onChange={(value) => onChange({ ...clause, value })} />
          )}
        </Field>
      )}
      {onRemove && (
        <button type="button" className="link" onClick={onRemove} aria-label={t("condition.removeClause")}>
          ✕
        </button>
      )}
    </div>
  );
}

/** An operand typed by its field: pick-lists as pick-lists, dates as date pickers. */
function ValueInput({
  id,
  describedBy,
  field,
  op,
  value,
  onChange,
}: {
  id: string;
  describedBy?: string;
  field: FieldDef | undefined;
  op: Operator;
  value: unknown;
  onChange: (v: unknown) => void;
}) {
  const t = useT();
  const type = field?.type;
  if (DAY_OPS.includes(op)) {
    return <input id={id} aria-describedby={describedBy} type="number" min={0} max={3660} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))} />;
  }
  const scalar = (v: string): unknown =>
    type === "number" || type === "money" ? (v === "" ? undefined : Number(v)) : type === "boolean" ? v === "true" : v;
  const inputType = type === "date" || type === "date_time" ? "date" : type === "number" || type === "money" ? "number" : "text";
  if (op === "in_list" || op === "not_in_list") {
    const list = Array.isArray(value) ? (value as unknown[]).map(String) : [];
    if (field?.options) {
      return (
        <select id={id} aria-describedby={describedBy} multiple value={list} onChange={(e) => onChange(Array.from(e.target.selectedOptions, (o) => o.value))}>
          {field.options.map((o) => (
            <option key={o.value} value={o.value}>
              {t.lang === "en" ? o.label_en : o.label_vi}
            </option>
          ))}
        </select>
      );
    }
    return <input id={id} aria-describedby={describedBy} value={list.join(", ")} placeholder={t("condition.listHint")} onChange={(e) => onChange(e.target.value.split(",").map((s) => s.trim()).filter(Boolean))} />;
  }
  if (op === "between") {
    const [low, high] = Array.isArray(value) ? (value as unknown[]) : [undefined, undefined];
    return (
      <span className="between">
        <input id={id} aria-describedby={describedBy} type={inputType} value={low === undefined ? "" : String(low)} onChange={(e) => onChange([scalar(e.target.value), high])} />
        <span>–</span>
        <input aria-label={t("condition.upTo")} type={inputType} value={high === undefined ? "" : String(high)} onChange={(e) => onChange([low, scalar(e.target.value)])} />
      </span>
    );
  }
  if (field?.options && (type === "pick_list" || type === "multi_pick_list")) {
    return (
      <select id={id} aria-describedby={describedBy} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t("choose")}</option>
        {field.options.map((o) => (
          <option key={o.value} value={o.value}>
            {t.lang === "en" ? o.label_en : o.label_vi}
          </option>
        ))}
      </select>
    );
  }
  if (type === "boolean") {
    return (
      <select id={id} aria-describedby={describedBy} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(scalar(e.target.value))}>
        <option value="">{t("choose")}</option>
        <option value="true">{t("yes")}</option>
        <option value="false">{t("no")}</option>
      </select>
    );
  }
  return <input id={id} aria-describedby={describedBy} type={inputType} value={value === undefined || value === null ? "" : String(value)} onChange={(e) => onChange(scalar(e.target.value))} />;
}

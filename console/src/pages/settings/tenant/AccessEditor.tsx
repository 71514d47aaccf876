import type { W } from "../../../api/client";
import { MODULES, ROLES } from "../../../api/modules";
import { Field } from "../../../components/Problem";
import { useT, type Key } from "../../../i18n";

type Policy = W["RolePolicy"];
type Permission = "read" | "create" | "edit" | "delete" | "merge" | "hand_over";
const LATER_MODULES = ["Call", "Meeting", "Note"] as const;
const PERMISSIONS: Permission[] = ["read", "create", "edit", "delete", "merge", "hand_over"];
const EVERYTHING: Policy = { level: "tenant", modules: Object.fromEntries(MODULES.map((m) => [m, PERMISSIONS.filter((p) => p !== "merge" || m === "Customer")])) };
const SALES_DEFAULT: Policy = {
  level: "own",
  modules: Object.fromEntries(
    MODULES.map((m) => [m, ["read", "create", "edit", "hand_over", ...(["Lead", "Contact", "Task", "CareCard", "Call", "Meeting", "Note"].includes(m) ? ["delete"] : [])] as Permission[]]),
  ),
};

/** What each role may do to which records: a level and, per module, a row of permissions. */
export function AccessEditor({ value, onChange }: { value: W["AccessPolicies"] | undefined; onChange: (v: W["AccessPolicies"] | undefined) => void }) {
  const t = useT();
  // A saved policy that does not name a module added since (calls, meetings, notes) gives the
  // role's default for it, as the API applies it.
  const policy = (role: (typeof ROLES)[number]): Policy => {
    const fallback = role === "administrator" ? EVERYTHING : SALES_DEFAULT;
    const saved = value?.[role];
    if (!saved) return fallback;
    const later = Object.fromEntries(LATER_MODULES.filter((m) => !(m in saved.modules)).map((m) => [m, fallback.modules[m] ?? []]));
    return { ...saved, modules: { ...later, ...saved.modules } };
  };
  const change = (role: (typeof ROLES)[number], next: Policy) => onChange({ administrator: policy("administrator"), salesperson: policy("salesperson"), [role]: next });
  return (
    <fieldset>
      <legend>{t("access.title")}</legend>
      <p className="hint">{t("access.hint")}</p>
      {ROLES.map((role) => {
        const p = policy(role);
        const at = `/access/${role}`;
        return (
          <div key={role} className="panel">
            <h3>{t(`role.${role}` as Key)}</h3>
            <Field label={t("access.level")} pointer={`${at}/level`}>
              {(id, d) => (
                <select id={id} aria-describedby={d} value={p.level} onChange={(e) => change(role, { ...p, level: e.target.value as Policy["level"] })}>
                  {(["own", "team", "tenant"] as const).map((l) => (
                    <option key={l} value={l}>
                      {t(`access.level.${l}` as Key)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <table>
              <caption className="muted">{t("access.permissions")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("workflows.module")}</th>
                  {PERMISSIONS.map((perm) => (
                    <th key={perm} scope="col">
                      {t(`access.perm.${perm}` as Key)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {MODULES.map((m) => {
                  const granted = (p.modules[m] ?? []) as Permission[];
                  return (
                    <tr key={m}>
                      <th scope="row">{t(`module.${m}` as Key)}</th>
                      {PERMISSIONS.map((perm) => (
                        <td key={perm}>
                          <input
                            type="checkbox"
                            aria-label={`${t(`role.${role}` as Key)}: ${t(`module.${m}` as Key)} — ${t(`access.perm.${perm}` as Key)}`}
                            checked={granted.includes(perm)}
                            onChange={(e) => {
                              const next = e.target.checked ? [...granted, perm] : granted.filter((x) => x !== perm);
                              change(role, { ...p, modules: { ...p.modules, [m]: PERMISSIONS.filter((x) => next.includes(x)) } });
                            }}
                          />
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        );
      })}
    </fieldset>
  );
}

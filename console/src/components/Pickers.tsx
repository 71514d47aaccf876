import { users } from "../api/settings";
import { modules } from "../api/modules";
import { useT } from "../i18n";
import { useLoad } from "./useLoad";

type Common = { id: string; "aria-describedby": string | undefined };

/** A module of the tenant, by its Vietnamese or English name; `only` narrows the list. */
export function ModuleSelect({ value, only, onChange, ...common }: Common & { value: string; only?: readonly string[]; onChange: (v: string) => void }) {
  const t = useT();
  const list = useLoad(modules, []);
  return (
    <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
      {(list.data ?? [])
        .filter((m) => !only || only.includes(m.module))
        .map((m) => (
          <option key={m.module} value={m.module}>
            {t.lang === "vi" ? m.label_vi : m.module}
          </option>
        ))}
    </select>
  );
}

/** One user of the tenant, or several; inactive users are marked. */
export function UserSelect({ value, multiple, onChange, ...common }: Common & { value: unknown; multiple: boolean; onChange: (v: unknown) => void }) {
  const t = useT();
  const people = useLoad(users, []);
  const options = (people.data ?? []).map((u) => (
    <option key={u.id} value={u.id}>
      {u.name || u.id}
      {u.active ? "" : ` (${t("users.inactive")})`}
    </option>
  ));
  if (multiple) {
    return (
      <select {...common} multiple value={(value as string[]) ?? []} onChange={(e) => onChange(Array.from(e.target.selectedOptions, (o) => o.value))}>
        {options}
      </select>
    );
  }
  return (
    <select {...common} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)}>
      <option value="">{t("choose")}</option>
      {options}
    </select>
  );
}

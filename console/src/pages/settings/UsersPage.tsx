import { useState, type FormEvent } from "react";
import { asProblem, api, ApiProblem, ok, type R } from "../../api/client";
import { users } from "../../api/settings";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";
import { SettingsNav } from "./SettingsPage";

type User = R["User"];
type Draft = { id: string; name: string; email: string; phone: string; team: string; role: R["Role"]; manager: string; active: boolean };

const BLANK: Draft = { id: "", name: "", email: "", phone: "", team: "", role: "salesperson", manager: "", active: true };

function draftOf(user: User): Draft {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    phone: user.phone ?? "",
    team: user.team ?? "",
    role: user.role,
    manager: user.manager ?? "",
    active: user.active,
  };
}

/** The tenant's users: who works in the CRM, their team, role and manager (administrators). */
export function UsersPage() {
  const t = useT();
  const list = useLoad(users, []);
  const [editing, setEditing] = useState<{ existing: boolean; draft: Draft } | null>(null);
  const people = list.data ?? [];
  return (
    <section>
      <h1>{t("settings.title")}</h1>
      <SettingsNav />
      <h2>{t("users.title")}</h2>
      <ProblemBanner problem={list.problem} onReload={list.reload} />
      <table>
        <thead>
          <tr>
            <th>{t("users.name")}</th>
            <th>{t("users.email")}</th>
            <th>{t("users.team")}</th>
            <th>{t("users.role")}</th>
            <th>{t("users.manager")}</th>
            <th>{t("users.active")}</th>
            <th>
              <span className="sr-only">{t("action.edit")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {people.map((u) => (
            <tr key={u.id}>
              <td>
                {u.name} <code className="muted">{u.id}</code>
              </td>
              <td>{u.email}</td>
              <td>{u.team ?? "—"}</td>
              <td>{t(`role.${u.role}` as Key)}</td>
              <td>{people.find((m) => m.id === u.manager)?.name ?? u.manager ?? "—"}</td>
              <td>{u.active ? t("yes") : t("no")}</td>
              <td>
                <button type="button" onClick={() => setEditing({ existing: true, draft: draftOf(u) })}>
                  {t("action.edit")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!editing && (
        <button type="button" className="primary" onClick={() => setEditing({ existing: false, draft: BLANK })}>
          {t("users.add")}
        </button>
      )}
      {editing && (
        <UserForm
          key={editing.draft.id || "new"}
          existing={editing.existing}
          initial={editing.draft}
          people={people}
          onDone={async () => {
            setEditing(null);
            await list.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
    </section>
  );
}

function UserForm({ existing, initial, people, onDone, onCancel }: { existing: boolean; initial: Draft; people: User[]; onDone: () => void; onCancel: () => void }) {
  const t = useT();
  const [draft, setDraft] = useState<Draft>(initial);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    const body = {
      name: draft.name,
      email: draft.email,
      phone: draft.phone || null,
      team: draft.team || null,
      role: draft.role,
      manager: draft.manager || null,
      active: draft.active,
    };
    try {
      if (existing) {
        await ok(api().records.PUT("/users/{id}", { params: { path: { id: draft.id } }, body }));
      } else {
        await ok(api().records.POST("/users", { body: { id: draft.id, ...body } }));
      }
      onDone();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const text = (key: "id" | "name" | "email" | "phone" | "team", label: Key, type = "text") => (
    <Field label={t(label)} pointer={`/${key}`}>
      {(id, d) => <input id={id} aria-describedby={d} type={type} value={draft[key]} disabled={key === "id" && existing} onChange={(e) => set({ [key]: e.target.value })} />}
    </Field>
  );
  return (
    <FormProblem.Provider value={problem}>
      <form noValidate className="panel" onSubmit={submit} aria-label={existing ? t("action.edit") : t("users.add")}>
        <div className="grid">
          {text("id", "users.id")}
          {text("name", "users.name")}
          {text("email", "users.email", "email")}
          {text("phone", "users.phone", "tel")}
          {text("team", "users.team")}
          <Field label={t("users.role")} pointer="/role">
            {(id, d) => (
              <select id={id} aria-describedby={d} value={draft.role} onChange={(e) => set({ role: e.target.value as R["Role"] })}>
                <option value="administrator">{t("role.administrator")}</option>
                <option value="salesperson">{t("role.salesperson")}</option>
              </select>
            )}
          </Field>
          <Field label={t("users.manager")} pointer="/manager">
            {(id, d) => (
              <select id={id} aria-describedby={d} value={draft.manager} onChange={(e) => set({ manager: e.target.value })}>
                <option value="">—</option>
                {people
                  .filter((p) => p.id !== draft.id)
                  .map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
              </select>
            )}
          </Field>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={draft.active} onChange={(e) => set({ active: e.target.checked })} />
          {t("users.active")}
        </label>
        <ProblemBanner problem={problem} shownPointers={["/id", "/name", "/email", "/phone", "/team", "/role", "/manager"]} />
        <div className="toolbar">
          <button type="submit" className="primary" disabled={busy}>
            {t("action.save")}
          </button>
          <button type="button" onClick={onCancel}>
            {t("action.cancel")}
          </button>
        </div>
      </form>
    </FormProblem.Provider>
  );
}

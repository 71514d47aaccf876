import { useState, type FormEvent } from "react";
import { Field } from "../components/Problem";
import { useT } from "../i18n";
import { cognitoSignIn, devSession, saveSession, type ConsoleConfig, type Session } from "../session";

/**
 * Locally: tenant, user and role, made into the local API's unsigned token. Deployed: the
 * Cognito hosted UI.
 */
export function Login({ config, onSignedIn }: { config: ConsoleConfig; onSignedIn: (s: Session) => void }) {
  const t = useT();
  const [tenant, setTenant] = useState("demo-tenant");
  const [user, setUser] = useState("u-admin");
  const [role, setRole] = useState("admin");
  if (config.login.type === "cognito") {
    const login = config.login;
    return (
      <main className="login">
        <h1>{t("app.title")}</h1>
        <button type="button" className="primary" onClick={() => void cognitoSignIn(login)}>
          {t("login.cognito")}
        </button>
      </main>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const session = devSession(tenant.trim(), user.trim(), role);
    saveSession(session);
    onSignedIn(session);
  };
  return (
    <main className="login">
      <h1>{t("app.title")}</h1>
      <p className="hint">{t("login.devHint")}</p>
      <form onSubmit={submit} className="panel">
        <Field label={t("login.tenant")}>
          {(id) => <input id={id} required value={tenant} onChange={(e) => setTenant(e.target.value)} />}
        </Field>
        <Field label={t("login.user")}>
          {(id) => <input id={id} required value={user} onChange={(e) => setUser(e.target.value)} />}
        </Field>
        <Field label={t("login.role")}>
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.target.value)}>
              <option value="admin">{t("role.admin")}</option>
              <option value="sales">{t("role.sales")}</option>
            </select>
          )}
        </Field>
        <button type="submit" className="primary">
          {t("login.signIn")}
        </button>
      </form>
    </main>
  );
}

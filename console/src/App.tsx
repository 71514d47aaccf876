import { useState } from "react";
import { HashRouter, Navigate, NavLink, Route, Routes, useParams } from "react-router-dom";
import { useLanguage, useT } from "./i18n";
import { CustomerList } from "./pages/customers/CustomerList";
import { CustomerPage } from "./pages/customers/CustomerPage";
import { MyApprovals } from "./pages/approvals/MyApprovals";
import { Login } from "./pages/Login";
import { Notifications } from "./pages/Notifications";
import { SettingsPage } from "./pages/settings/SettingsPage";
import { TenantSettingsPage } from "./pages/settings/tenant/TenantSettingsPage";
import { UsersPage } from "./pages/settings/UsersPage";
import { SampleGallery } from "./pages/workflows/SampleGallery";
import { WorkflowDetail } from "./pages/workflows/WorkflowDetail";
import { WorkflowEditor } from "./pages/workflows/WorkflowEditor";
import { WorkflowList } from "./pages/workflows/WorkflowList";
import { cognitoSignOut, currentSession, signOut, type ConsoleConfig, type Session } from "./session";

// Hash routes (#/workflows): the console's paths never collide with the APIs' own, which the
// same host serves.
export function App({ config }: { config: ConsoleConfig }) {
  const [session, setSession] = useState<Session | null>(currentSession);
  if (!session) return <Login config={config} onSignedIn={setSession} />;
  return (
    <HashRouter>
      <Shell
        session={session}
        onSignOut={() => {
          if (config.login.type === "cognito") {
            cognitoSignOut(config.login);
            return;
          }
          signOut();
          setSession(null);
        }}
      >
        <Routes>
          <Route path="/" element={<Navigate to="/workflows" replace />} />
          <Route path="/workflows" element={<WorkflowList />} />
          <Route path="/workflows/new" element={<WorkflowEditor />} />
          <Route path="/workflows/:id" element={<WorkflowDetail />} />
          <Route path="/workflows/:id/edit" element={<WorkflowEditor />} />
          <Route path="/samples" element={<SampleGallery />} />
          <Route path="/settings" element={<Navigate to="/settings/sms-providers" replace />} />
          <Route path="/settings/users" element={<UsersPage />} />
          <Route path="/settings/tenant" element={<TenantSettingsPage />} />
          <Route path="/settings/:kind" element={<SettingsRoute />} />
          <Route path="/customers" element={<CustomerList />} />
          <Route path="/customers/:id" element={<CustomerRoute />} />
          <Route path="/notifications" element={<Notifications />} />
          <Route path="/approvals" element={<MyApprovals />} />
          <Route path="*" element={<Navigate to="/workflows" replace />} />
        </Routes>
      </Shell>
    </HashRouter>
  );
}

/** A settings page of its own per kind: no form of one kind stays open on another's page. */
function SettingsRoute() {
  const { kind } = useParams();
  return <SettingsPage key={kind} />;
}

/** A customer page of its own per id: nothing of one customer stays on another's page. */
function CustomerRoute() {
  const { id } = useParams();
  return <CustomerPage key={id} />;
}

function Shell({ session, onSignOut, children }: { session: Session; onSignOut: () => void; children: React.ReactNode }) {
  const t = useT();
  const { setLang } = useLanguage();
  return (
    <>
      <header className="topbar">
        <strong className="brand">{t("app.title")}</strong>
        <nav aria-label={t("nav.main")}>
          <NavLink to="/workflows">{t("nav.workflows")}</NavLink>
          <NavLink to="/customers">{t("nav.customers")}</NavLink>
          <NavLink to="/settings">{t("nav.settings")}</NavLink>
          <NavLink to="/approvals">{t("nav.approvals")}</NavLink>
          <NavLink to="/notifications">{t("nav.notifications")}</NavLink>
        </nav>
        <span className="who" data-testid="who">
          {session.user} · {session.tenant}
        </span>
        <button type="button" className="link" onClick={() => setLang(t.lang === "vi" ? "en" : "vi")}>
          {t("nav.language")}
        </button>
        <button type="button" className="link" onClick={onSignOut}>
          {t("nav.signOut")}
        </button>
      </header>
      <main>{children}</main>
    </>
  );
}

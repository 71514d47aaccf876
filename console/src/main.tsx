import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { setApiBase } from "./api/client";
import { App } from "./App";
import { LanguageProvider } from "./i18n";
import { loadConfig, takeCognitoRedirect } from "./session";
import "./styles.css";

async function start() {
  let config;
  try {
    config = await loadConfig();
    await takeCognitoRedirect(config);
  } catch (error) {
    const root = document.getElementById("root");
    if (root) root.textContent = String(error);
    return;
  }
  setApiBase(config.api_base);
  const root = document.getElementById("root");
  if (!root) return;
  createRoot(root).render(
    <StrictMode>
      <LanguageProvider>
        <App config={config} />
      </LanguageProvider>
    </StrictMode>,
  );
}

void start();

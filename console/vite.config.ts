import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The console is static files: `infra/local-api` serves `dist/` at `/` beside the APIs, and a
// deployment serves it from the console bucket. `npm run dev` proxies the APIs to the local API.
const localApi = process.env.LOCAL_API_URL ?? "http://127.0.0.1:3000";
const apiPaths = [
  "/workflows", "/samples", "/settings", "/tenant-settings", "/modules", "/dead-letters",
  "/records", "/customers", "/users", "/teams", "/me", "/imports", "/config.json",
];

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: Object.fromEntries(apiPaths.map((path) => [path, localApi])),
  },
});

/**
 * Builds the dashboard to static files in dist/dashboard, which `loopd serve` hands out.
 * `npx vite --config dashboard/vite.config.ts` serves it with hot reload against a daemon
 * on LOOPD_URL (default http://127.0.0.1:7979).
 */
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../dist/dashboard", import.meta.url)),
    emptyOutDir: true,
  },
  server: {
    proxy: { "/api": process.env.LOOPD_URL ?? "http://127.0.0.1:7979" },
  },
});

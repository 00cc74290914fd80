/**
 * The dashboard: the static files `npm run build` puts in dist/dashboard, served at `/` with
 * index.html for every other page path (the app routes with `#/…` hashes, so only `/` and
 * `/assets/*` are asked for in practice, but a pasted `/runs/12` must still load it). The
 * daemon needs no dev tooling at run time; without a build it says how to make one.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Hono } from "hono";
import { packageRoot } from "../lib/package-root.js";

/** <package>/dist/dashboard/, wherever this module runs from (src/, dist/server/, the CLI bundle). */
const DASHBOARD_DIR = join(packageRoot(), "dist", "dashboard");

export function mountDashboard(app: Hono, dir: string = DASHBOARD_DIR): void {
  const built = existsSync(`${dir}/index.html`);
  const notApi = (path: string) => !path.startsWith("/api/") && !path.startsWith("/hooks/");
  if (!built) {
    app.get("/", (c) =>
      c.text(
        "The loopd dashboard is not built. Run `npm run build` (or `npm start`) in the loopd checkout.\n",
        503,
      ),
    );
    return;
  }
  app.use("*", async (c, next) => (notApi(c.req.path) ? serveStatic({ root: dir })(c, next) : next()));
  app.get("*", async (c, next) =>
    notApi(c.req.path) ? serveStatic({ root: dir, path: "index.html" })(c, next) : next(),
  );
}

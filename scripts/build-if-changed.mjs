// `npm start`'s build step: rebuilds the CLI (tsc, then the esbuild bundle) and the dashboard (vite) only when their
// sources are newer than the last build, so a restart reaches the dashboard URL in seconds.
// `npm run build` still rebuilds everything unconditionally. The stamps live under
// node_modules/.cache (not in dist/, which is packed; `npm ci` clears them, forcing a build).
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, utimesSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const shared = ["package.json", "package-lock.json", "tsconfig.json"];
const parts = [
  {
    name: "loopd",
    inputs: ["src", "tsconfig.build.json", "scripts/build-cli.mjs", ...shared],
    output: "dist/cli/bin.js",
    stamp: "node_modules/.cache/loopd-build/cli",
    commands: [["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], ["scripts/build-cli.mjs"]],
  },
  {
    name: "dashboard",
    inputs: ["dashboard", "tsconfig.dashboard.json", ...shared],
    output: "dist/dashboard/index.html",
    stamp: "node_modules/.cache/loopd-build/dashboard",
    commands: [
      [
        "node_modules/vite/bin/vite.js",
        "build",
        "--config",
        "dashboard/vite.config.ts",
        "--logLevel",
        "warn",
      ],
    ],
  },
];

for (const part of parts) {
  const stamp = join(root, part.stamp);
  const builtAt = existsSync(stamp) && existsSync(join(root, part.output)) ? statSync(stamp).mtimeMs : -1;
  const changed = builtAt < 0 || part.inputs.some((input) => newestMtime(join(root, input)) > builtAt);
  if (!changed) continue;
  // The stamp carries the time the build *started*: an edit made while it runs triggers the next one.
  const startedAt = new Date();
  for (const command of part.commands)
    execFileSync(process.execPath, command, { cwd: root, stdio: "inherit" });
  mkdirSync(dirname(stamp), { recursive: true });
  closeSync(openSync(stamp, "w"));
  utimesSync(stamp, startedAt, startedAt);
}

/** The newest modification time of a file or, recursively, of a folder's files (0 if missing). */
function newestMtime(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a deleted file shows as its folder's change
  for (const entry of readdirSync(path)) {
    if (entry === "node_modules") continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

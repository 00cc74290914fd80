/** Builds dist/ (and the dashboard) once before the suite: CLI, process and browser tests run the real thing. */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  // Unit tests that spawn no loopd process can skip the build (handy while other files are mid-edit).
  if (process.env.LOOPD_TEST_SKIP_BUILD === "1") return;
  const root = fileURLToPath(new URL("..", import.meta.url));
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  // The `loopd` executable: the esbuild bundle over tsc's dist/cli/bin.js, as `npm run build` makes it.
  execFileSync(process.execPath, ["scripts/build-cli.mjs"], { cwd: root, stdio: "inherit" });
  // The dashboard's static files, which `loopd serve` hands out and the browser tests load.
  execFileSync(
    process.execPath,
    ["node_modules/vite/bin/vite.js", "build", "--config", "dashboard/vite.config.ts", "--logLevel", "warn"],
    { cwd: root, stdio: "inherit" },
  );
}

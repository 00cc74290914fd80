/**
 * What the sandbox adds to one builtin `bash` call: the median wall time of `true` run by
 * runBash unconfined, inside a run's sandbox with a new bubblewrap and network launcher per
 * command, and through the run's long-lived confined shell (confined-shell.ts, what the
 * builtin harness uses), in turn, after a warm-up, in the same process. Needs bwrap.
 *
 *   npm run bench:sandbox
 *
 * A benchmark, not a test: prints one Markdown table.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type BashSandbox, openBashSandbox, runBash } from "../src/harness/builtin/bash.js";
import { ConfinedShell } from "../src/harness/builtin/confined-shell.js";
import type { SandboxRequest } from "../src/harness/sandbox/request.js";

const CALLS = 15;

const cwd = mkdtempSync(join(tmpdir(), "loopd-bench-bash-"));
const env = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: mkdtempSync(join(tmpdir(), "loopd-bench-home-")),
};
const request: SandboxRequest = {
  setting: { mode: "required", allowWrite: [], allowRead: [], network: [] },
  bwrap: process.env.LOOPD_BWRAP || "bwrap",
  loopback: [],
  hosts: [],
  github: false,
};
const opened = await openBashSandbox({ request, cwd, env, emit: () => {} });
if (opened.kind !== "confined") throw new Error(`no sandbox here (${opened.kind})`);
const sandbox = opened.sandbox;
const shell = new ConfinedShell(sandbox, cwd);
const viaShell: BashSandbox = { file: sandbox.file, wrap: sandbox.wrap, env: sandbox.env, shell };

async function timed(box: BashSandbox | null): Promise<number> {
  const started = performance.now();
  const result = await runBash({ command: "true", cwd, env, sandbox: box });
  if (result.exitCode !== 0) throw new Error(`true exited ${result.exitCode}: ${result.output}`);
  return performance.now() - started;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

await timed(null);
await timed(sandbox);
await timed(viaShell);
const plain: number[] = [];
const boxed: number[] = [];
const served: number[] = [];
for (let i = 0; i < CALLS; i++) {
  plain.push(await timed(null));
  boxed.push(await timed(sandbox));
  served.push(await timed(viaShell));
}
await shell.close();
await sandbox.close();
rmSync(cwd, { recursive: true, force: true });
rmSync(env.HOME, { recursive: true, force: true });
console.log(`| bash \`true\` (median of ${CALLS}) | ms |\n| --- | --- |`);
console.log(`| unconfined | ${median(plain).toFixed(0)} |`);
console.log(`| sandbox on, a bwrap + network launcher per call | ${median(boxed).toFixed(0)} |`);
console.log(`| sandbox on, the run's confined shell (builtin's way) | ${median(served).toFixed(0)} |`);
console.log(
  `\nload average ${loadavg()
    .map((n) => n.toFixed(1))
    .join(" ")}`,
);

/**
 * `loopd doctor`'s check that confinement works here: a tiny sandbox built by the same
 * bwrapArgs as a run's (synthetic HOME, own network and PID namespace) runs a shell that must
 * start, must not see a key planted in the real HOME and must not see the probing process.
 * On macOS only that sandbox-exec runs (darwin.ts; not exercised in CI).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable } from "../executable.js";
import { SANDBOX_EXEC, sandboxExecProblem } from "./darwin.js";
import { bwrapArgs } from "./profile.js";

export interface SandboxProbe {
  works: boolean;
  /** The binary tried (resolved on PATH when found). */
  bwrap: string;
  /** What went wrong, when it did not work. */
  problem: string | null;
}

export function probeSandbox(bwrap: string): SandboxProbe {
  if (process.platform === "darwin") {
    const problem = sandboxExecProblem();
    return { works: problem === null, bwrap: SANDBOX_EXEC, problem };
  }
  const path = findExecutable(bwrap, process.env.PATH);
  if (path === null) return { works: false, bwrap, problem: `bubblewrap (${bwrap}) is not installed` };
  const dir = mkdtempSync(join(tmpdir(), "loopd-probe-"));
  try {
    const home = join(dir, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "id_rsa"), "planted\n");
    mkdirSync(join(dir, "synthetic"));
    mkdirSync(join(dir, "work"));
    const script = `test ! -e "$HOME/.ssh/id_rsa" || exit 3; kill -0 ${process.pid} 2>/dev/null && exit 4; echo confined`;
    const args = bwrapArgs(
      {
        cwd: join(dir, "work"),
        home: { path: home, source: join(dir, "synthetic") },
        binds: [],
        masked: [],
        network: null,
      },
      "/bin/sh",
      ["-c", script],
    );
    const probe = spawnSync(path, ["--unshare-net", ...args], {
      encoding: "utf8",
      timeout: 10_000,
      env: { PATH: "/usr/bin:/bin", HOME: home },
    });
    if (probe.status === 0 && probe.stdout.includes("confined"))
      return { works: true, bwrap: path, problem: null };
    const why =
      probe.status === 3
        ? "the probe could read a file it should not see"
        : probe.status === 4
          ? "the probe could see loopd's process"
          : (probe.stderr || probe.error?.message || `exit ${probe.status}`).trim();
    return { works: false, bwrap: path, problem: `bubblewrap (${path}) cannot confine a run here: ${why}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

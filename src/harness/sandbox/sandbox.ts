/**
 * Opening a run's sandbox: is confinement available (a probe of the bubblewrap binary, cached
 * per binary; on macOS of sandbox-exec, darwin.ts, not exercised in CI), and if so the profile gathered from the machine — system and tool dirs, the
 * harness's config in a synthetic HOME, the worktree and its git dirs, the git remotes on disk
 * — and, unless `network: all`, the network bridge (network.ts) and the launcher that serves
 * it inside. The harness spawns `wrap(command, args)` under the parent-death watchdog as
 * before: the watchdog kills bwrap's group, `--die-with-parent` takes the sandbox with it.
 *
 * `on` without a working bwrap runs unconfined with a warning; `required` refuses
 * (LOOPD_SANDBOX_UNAVAILABLE). Either way the run's log gets one `sandbox` status event saying
 * what the run had (show-run reads it back).
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, isAbsolute, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { findExecutable } from "../executable.js";
import type { HarnessEvent } from "../harness.js";
import { loopbackRelay, SANDBOX_EXEC, sandboxExecArgs, sandboxExecProblem } from "./darwin.js";
import { homeLayout } from "./home.js";
import { LAUNCHER_SOURCE, type LauncherConfig } from "./launcher.js";
import { startNetworkBridge } from "./network.js";
import {
  bwrapArgs,
  INSIDE_DIR,
  MASKED_FILES,
  type SandboxBind,
  type SandboxProfile,
  SYSTEM_DIRS,
} from "./profile.js";
import type { SandboxRequest } from "./request.js";

export const SANDBOX_INSTALL = "sudo apt-get install bubblewrap";

export interface OpenSandboxInput {
  request: SandboxRequest | null | undefined;
  harness: string;
  cwd: string;
  env: Record<string, string>;
  /** The resolved executable and its arguments (absolute temp-file arguments are bound read-only). */
  command: string;
  args: readonly string[];
  emit: (event: HarnessEvent) => void;
  /** Added to the `sandbox` event (what else about the run's confinement a reader should know). */
  note?: string;
  /**
   * No `sandbox` event and no UNCONFINED warning: a later command of a run whose harness
   * already recorded its profile (`verify`), so show-run keeps the harness's record.
   */
  quiet?: boolean;
}

export interface OpenSandbox {
  /** `[file, args]` to spawn instead of `command args`. */
  file: string;
  args: string[];
  /** bubblewrap's arguments for another command under the same profile (the builtin's bash). */
  wrap(command: string, args: readonly string[]): string[];
  env: Record<string, string>;
  close(): Promise<void>;
}

export type SandboxOutcome =
  | { kind: "none" }
  | { kind: "refused"; error: { code: string; message: string; hint: string } }
  | { kind: "confined"; sandbox: OpenSandbox };

/** What a run's `sandbox` event says (show-run, the API's run view). */
export interface SandboxRecord {
  event: "sandbox";
  mode: string;
  confined: boolean;
  /** Why it is not confined (`on` without a working bwrap). */
  reason?: string;
  note?: string;
  write?: string[];
  read?: string[];
  network?: string[] | "all";
  loopback?: string[];
}

const probes = new Map<string, { at: number; answer: string | null }>();
const PROBE_TTL_MS = 60_000;

/** null when `bwrap` can confine a process here, else why not (cached a minute per binary). */
export function bwrapProblem(bwrap: string): string | null {
  const cached = probes.get(bwrap);
  if (cached && Date.now() - cached.at < PROBE_TTL_MS) return cached.answer;
  const path = findExecutable(bwrap, process.env.PATH);
  let answer: string | null = null;
  if (process.platform === "darwin") answer = sandboxExecProblem();
  else if (path === null) answer = `bubblewrap (${bwrap}) is not installed`;
  else {
    const probe = spawnSync(
      path,
      ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-net", "true"],
      { encoding: "utf8", timeout: 10_000 },
    );
    if (probe.status !== 0)
      answer = `bubblewrap (${path}) cannot create a sandbox here: ${(probe.stderr || probe.error?.message || "").trim()}`;
  }
  probes.set(bwrap, { at: Date.now(), answer });
  return answer;
}

/** Whether a run with this request will be confined (so a harness can turn its own sandbox off). */
export function willConfine(request: SandboxRequest | null | undefined): boolean {
  return !!request && request.setting.mode !== "off" && bwrapProblem(request.bwrap) === null;
}

/**
 * The engine's check before a harness starts: `required` without working confinement is
 * refused here. (The builtin harness counts as confinable: its bash commands run in the
 * profile, its file tools check paths in-process.)
 */
export function sandboxRefusal(
  request: SandboxRequest | null | undefined,
): { code: string; message: string; hint: string } | null {
  if (request?.setting.mode !== "required") return null;
  const problem = bwrapProblem(request.bwrap);
  if (problem === null) return null;
  return {
    code: "LOOPD_SANDBOX_UNAVAILABLE",
    message: `sandbox: required, but ${problem}; the run was not started unconfined`,
    hint: `Install bubblewrap (\`${SANDBOX_INSTALL}\`) and check with \`loopd doctor\`, or point \`sandbox.bwrap\` at a working binary.`,
  };
}

export async function openSandbox(input: OpenSandboxInput): Promise<SandboxOutcome> {
  const { request } = input;
  if (!request || request.setting.mode === "off") return { kind: "none" };
  const problem = bwrapProblem(request.bwrap);
  if (problem !== null) {
    const refusal = sandboxRefusal(request);
    if (refusal) return { kind: "refused", error: refusal };
    if (input.quiet) return { kind: "none" };
    record(input.emit, { event: "sandbox", mode: "on", confined: false, reason: problem });
    input.emit({
      type: "status",
      data: {
        event: "warning",
        message: `UNCONFINED: sandbox is on but ${problem}; the agent runs with the daemon's full access. Install it: \`${SANDBOX_INSTALL}\` (or set sandbox: required to refuse such runs).`,
      },
    });
    return { kind: "none" };
  }
  const dir = mkdtempSync(join(tmpdir(), "loopd-sandbox-"));
  try {
    return { kind: "confined", sandbox: await confine(input, request, dir) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function confine(input: OpenSandboxInput, request: SandboxRequest, dir: string): Promise<OpenSandbox> {
  const { setting } = request;
  const home = input.env.HOME || "/nonexistent";
  const syntheticHome = join(dir, "home");
  mkdirSync(syntheticHome, { mode: 0o700 });
  const layout = homeLayout(input.harness, home, input.env, { github: request.github });
  for (const file of layout.copies)
    if (existsSync(file)) copyFileSync(file, join(syntheticHome, basename(file)));
  const expand = (path: string) => (path.startsWith("~/") ? join(home, path.slice(2)) : path);
  const git = gitDirs(input.cwd);
  const binds: SandboxBind[] = [
    ...toolDirs(input.command, input.env.PATH, home).map((source) => ({ source, writable: false })),
    ...tempArguments(input.args, input.env).map((source) => ({ source, writable: false })),
    ...layout.binds,
    ...git.binds,
    ...setting.allowRead.map((path) => ({ source: expand(path), writable: false, optional: true })),
    ...setting.allowWrite.map((path) => ({ source: expand(path), writable: true, optional: true })),
    { source: dir, dest: INSIDE_DIR, writable: false },
  ];
  const env: Record<string, string> = { ...input.env, TMPDIR: "/tmp" };
  for (const key of ["DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK", "DOCKER_HOST", "XDG_RUNTIME_DIR"])
    delete env[key];
  const hosts =
    setting.network === "all" ? "all" : [...new Set([...request.hosts, ...git.hosts, ...setting.network])];
  const darwin = process.platform === "darwin";
  let close = async () => {};
  let network: SandboxProfile["network"] = null;
  let proxyPort: number | null = null;
  if (hosts !== "all") {
    const bridge = await startNetworkBridge(dir, request.loopback, hosts, (destination) =>
      input.emit({ type: "status", data: { event: "sandbox-denied", destination } }),
    );
    close = () => bridge.close();
    proxyPort = bridge.proxyPort;
    if (darwin) {
      // No network namespace: the proxy is relayed on a host loopback port (darwin.ts).
      const relay = await loopbackRelay(join(dir, "proxy.sock"));
      close = async () => {
        await relay.close();
        await bridge.close();
      };
      proxyPort = relay.port;
    }
    const config: LauncherConfig = {
      forwards: bridge.forwards.map(({ port, socket }) => ({ port, socket: `${INSIDE_DIR}/${socket}` })),
    };
    writeFileSync(join(dir, "launcher.mjs"), LAUNCHER_SOURCE);
    writeFileSync(join(dir, "launcher.json"), JSON.stringify(config));
    network = {
      node: process.execPath,
      script: `${INSIDE_DIR}/launcher.mjs`,
      config: `${INSIDE_DIR}/launcher.json`,
    };
    const proxy = `http://127.0.0.1:${proxyPort}`;
    for (const key of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"])
      env[key] = proxy;
    env.NO_PROXY = env.no_proxy = "localhost,127.0.0.1,::1";
  }
  const profile: SandboxProfile = {
    cwd: input.cwd,
    home: { path: home, source: syntheticHome },
    binds,
    masked: MASKED_FILES.filter((file) => existsSync(file)),
    network,
  };
  if (!input.quiet)
    record(input.emit, {
      event: "sandbox",
      mode: setting.mode,
      confined: true,
      write: [input.cwd, "/tmp (private)", ...binds.filter((b) => b.writable).map((b) => b.source)],
      read: [
        ...SYSTEM_DIRS.filter(existsSync),
        ...binds.filter((b) => !b.writable && b.dest !== INSIDE_DIR).map((b) => b.source),
      ],
      network: hosts,
      loopback: request.loopback.map(({ host, port }) => `${host}:${port}`),
      ...(input.note !== undefined ? { note: input.note } : {}),
    });
  const done = async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  };
  if (darwin) {
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    env.TMPDIR = tmp;
    const options = {
      tempDirs: [tmp],
      loopbackPorts: [
        ...request.loopback.map(({ port }) => port),
        ...(proxyPort !== null ? [proxyPort] : []),
      ],
    };
    const wrap = (command: string, args: readonly string[]) =>
      sandboxExecArgs(profile, command, args, options);
    return { file: SANDBOX_EXEC, args: wrap(input.command, input.args), wrap, env, close: done };
  }
  const bwrap = findExecutable(request.bwrap, process.env.PATH) ?? request.bwrap;
  return {
    file: bwrap,
    args: bwrapArgs(profile, input.command, input.args),
    wrap: (command, args) => bwrapArgs(profile, command, args),
    env,
    close: done,
  };
}

function record(emit: (event: HarnessEvent) => void, data: SandboxRecord): void {
  emit({ type: "status", data });
}

/** Where the command and node live (read-only): PATH dirs, the CLI's package, node's prefix. */
function toolDirs(command: string, path: string | undefined, home: string): string[] {
  const system = (dir: string) => SYSTEM_DIRS.some((root) => dir === root || dir.startsWith(`${root}/`));
  const dirs = new Set<string>();
  const add = (dir: string) => {
    // Never the HOME itself or an ancestor of it: that would undo the synthetic HOME.
    if (
      !isAbsolute(dir) ||
      dir === "/" ||
      `${home}/`.startsWith(`${dir}/`) ||
      system(dir) ||
      !existsSync(dir)
    )
      return;
    dirs.add(dir);
  };
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    add(basename(dir) === ".bin" && basename(dirname(dir)) === "node_modules" ? dirname(dir) : dir);
  }
  for (const file of [command, process.execPath]) {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      continue;
    }
    const modules = real.lastIndexOf(`${sep}node_modules${sep}`);
    add(modules >= 0 ? real.slice(0, modules + "/node_modules".length) : dirname(dirname(real)));
  }
  // A dir inside another one is covered by it.
  return [...dirs].filter((dir) => ![...dirs].some((other) => other !== dir && dir.startsWith(`${other}/`)));
}

/**
 * The temp dirs the harness adapters write for the CLI (system prompt, instructions, MCP
 * config: `<tmp>/loopd-claude-XXXXXX`, …), named in its arguments or environment, possibly
 * inside a JSON value (opencode's config): bound read-only, nothing else of the host's /tmp.
 */
function tempArguments(args: readonly string[], env: Record<string, string>): string[] {
  const found = new Set<string>();
  for (const root of new Set([tmpdir(), realpathOr(tmpdir())])) {
    const pattern = new RegExp(
      `${escapeRegExp(root)}/loopd-(?:claude|codex|gemini|opencode)-[A-Za-z0-9]{6}`,
      "g",
    );
    for (const value of [...args, ...Object.values(env)])
      for (const match of value.matchAll(pattern)) if (existsSync(match[0])) found.add(match[0]);
  }
  return [...found];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The worktree's git dirs outside it: the common dir read-only with what a commit writes
 * (objects, refs, logs, this worktree's own dir) writable, so hooks and config stay as they
 * are; remotes on disk writable (a push to a local bare repo); remote hosts for the proxy.
 */
function gitDirs(cwd: string): { binds: SandboxBind[]; hosts: string[] } {
  const binds: SandboxBind[] = [];
  const hosts: string[] = [];
  let lines: string[];
  try {
    lines = execFileSync("git", ["rev-parse", "--path-format=absolute", "--git-common-dir", "--git-dir"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .trim()
      .split("\n");
  } catch {
    return { binds, hosts };
  }
  const [common = "", own = ""] = lines;
  const inside = (path: string) => path === cwd || path.startsWith(`${cwd}/`);
  if (common && !inside(common)) {
    binds.push({ source: common, writable: false });
    for (const sub of ["objects", "refs", "logs"])
      binds.push({ source: join(common, sub), writable: true, optional: true });
    if (own && own !== common) binds.push({ source: own, writable: true });
  }
  let remotes = "";
  try {
    remotes = execFileSync("git", ["config", "--get-regexp", "^remote\\..*\\.(push)?url$"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    // no remote
  }
  for (const line of remotes.split("\n")) {
    const url = line.split(" ").slice(1).join(" ").trim();
    if (!url) continue;
    if (/^https?:\/\//.test(url)) hosts.push(new URL(url).hostname);
    else if (url.startsWith("file://"))
      binds.push({ source: fileURLToPath(url), writable: true, optional: true });
    else if (url.startsWith("/") || url.startsWith("."))
      binds.push({ source: resolve(common ? dirname(common) : cwd, url), writable: true, optional: true });
  }
  return { binds, hosts };
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

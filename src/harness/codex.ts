/**
 * The codex harness: runs OpenAI's Codex CLI (`codex exec --json`) sandboxed in the run's
 * folder, and turns what it reports (read by `codex-events.ts`) into a result with usage,
 * cost and the right error code. Also answers preflight: installed, version, credentials.
 *
 * The sandbox is a setting (`harnesses.codex.sandbox`, default `workspace-write`: Codex
 * confines the agent's commands to the run's folder and the temp dirs). On Linux Codex runs
 * commands under bubblewrap: a system `bwrap` on PATH if there is one, else its bundled copy.
 * The system one execs a helper binary (`codex-linux-sandbox`) that Codex lays out under
 * CODEX_HOME at startup, and refuses to when CODEX_HOME is inside the temp dir; every command
 * then fails and Codex still exits 0. loopd does not move CODEX_HOME (the user's login and
 * config live there) or switch the sandbox off behind the user's back: it detects the case
 * and fails the attempt with LOOPD_HARNESS_BROKEN, naming the cause and the two fixes.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import type { CodexSandbox } from "../domain/config-sections.js";
import { DEFAULT_PRICING, type PricingTable } from "../domain/pricing.js";
import { runAgentProcess } from "./agent-process.js";
import { probeAuth, probedAuth, rejectedKeyHint } from "./auth-probe.js";
import {
  cliFailure,
  cliResult,
  endedEarly,
  locateCli,
  notAnAgentTask,
  pricedModelUsage,
} from "./cli-adapter.js";
import { CodexEventParser, SANDBOX_FAILED } from "./codex-events.js";
import { findExecutable } from "./executable.js";
import type { Harness, HarnessInput, HarnessResult, PreflightInput, PreflightResult } from "./harness.js";
import { willConfine } from "./sandbox/sandbox.js";

export interface CodexHarnessOptions {
  /** Executable name or path (`harnesses.codex.command`); default `codex` on the run's PATH. */
  command?: string;
  /** Added before the prompt, e.g. `-c` overrides. */
  extraArgs?: string[];
  /** Codex's sandbox for the agent's commands (`harnesses.codex.sandbox`); default workspace-write. */
  sandbox?: CodexSandbox;
  pricing?: PricingTable;
}

export const DEFAULT_CODEX_SANDBOX: CodexSandbox = "workspace-write";

/** The provider id loopd defines when a tier gives a base URL. */
export const CODEX_PROVIDER = "loopd";

export function createCodexHarness(options: CodexHarnessOptions = {}): Harness {
  const command = options.command ?? "codex";
  const configured = options.sandbox ?? DEFAULT_CODEX_SANDBOX;
  return {
    name: "codex",
    envKeys: ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", /^CODEX_/],
    preflight: (input) => preflightCodex(command, input),
    async run(input, emit) {
      const agent = input.agent;
      if (!agent) return notAnAgentTask("codex");
      // Inside loopd's sandbox Codex's own is off: nested bubblewrap cannot work there (no
      // user namespace inside ours), and loopd's confines every process of the run already.
      const sandbox = willConfine(input.sandbox) ? "danger-full-access" : configured;
      // Codex picks a system bubblewrap the way a shell would: `bwrap` on its PATH.
      const systemBwrap = sandbox === "danger-full-access" ? null : findExecutable("bwrap", input.env.PATH);
      const parser = new CodexEventParser(agent.maxTurns, emit, { systemBwrap });
      // Codex runs each command in a session of its own, outside codex's process group; what
      // it leaves running is stopped by runAgentProcess through its environment marker.
      const proc = await runAgentProcess({
        command,
        args: codexArgs(input, options.extraArgs ?? [], sandbox),
        cwd: input.cwd,
        env: input.env,
        signal: input.signal,
        emit,
        sandbox: { request: input.sandbox, harness: "codex" },
        onLine: (line) => parser.onLine(line),
        onStderrLine: (line) => parser.onStderrLine(line),
      });
      const state = parser.state;
      // A sandbox failure Codex only told the model about (the command's output is in its
      // session file, not its JSON events) is found there.
      state.sandboxBroken ??= sandboxFailureInSession(input.env, state.sessionId);
      const model = agent.model ?? sessionModel(input.env, state.sessionId) ?? "codex-default";
      const priced = pricedModelUsage([{ model, usage: state.usage }], options.pricing ?? DEFAULT_PRICING);
      const { fail, succeed } = cliResult(proc, {
        finalMessage: state.lastMessage,
        usage: state.usage,
        ...priced,
        turns: state.turns,
        sessionId: state.sessionId,
      });
      if (state.sandboxBroken && !proc.spawnError) return harnessBroken(fail, state.sandboxBroken, sandbox);
      const failure = cliFailure({ name: "codex", command }, proc, state, {
        aborted: input.signal.aborted,
        maxTurns: agent.maxTurns,
      });
      if (failure) return fail(failure);
      if (state.failure) return fail("LOOPD_AGENT_FAILED", `codex: ${state.failure}`);
      if (!state.completed || proc.exitCode !== 0)
        return fail(endedEarly("codex", proc, "finishing its turn"));
      return succeed();
    },
  };
}

export const codexHarness = createCodexHarness();

/**
 * A Codex that started but could not run any command: LOOPD_HARNESS_BROKEN, with the fix for
 * the cause (CODEX_HOME in the temp dir, or a bubblewrap that cannot work on this machine).
 */
function harnessBroken(
  fail: (code: string, message: string) => HarnessResult,
  cause: string,
  sandbox: CodexSandbox,
): HarnessResult {
  const result = fail("LOOPD_HARNESS_BROKEN", `codex could not run any command: ${cause}`);
  const off =
    "or set `harnesses.codex.sandbox: danger-full-access` when the worker is confined otherwise (a container or VM)";
  const hint = /CODEX_HOME/.test(cause)
    ? `Point CODEX_HOME (the daemon's, or the routine's \`env\`) or HOME at a folder outside the temp dir, e.g. \`CODEX_HOME=~/.codex\`, ${off}.`
    : `Make bubblewrap work for the daemon's user (unprivileged user namespaces), ${off}; the sandbox now is ${sandbox}.`;
  return {
    ...result,
    error: { code: "LOOPD_HARNESS_BROKEN", message: result.error?.message ?? cause, hint },
  };
}

/** The command line for one run (exported for tests). */
export function codexArgs(
  input: HarnessInput,
  extraArgs: readonly string[],
  sandbox: CodexSandbox = DEFAULT_CODEX_SANDBOX,
): string[] {
  const agent = input.agent;
  // Without --skip-git-repo-check codex refuses folders that are not a git repo; loopd already
  // decides where a run may work (worktree or repo) and the sandbox confines writes to it.
  const args = ["exec", "--json", "-C", input.cwd, "--sandbox", sandbox, "--skip-git-repo-check"];
  // A background daemon must not phone home: no analytics (ab.chatgpt.com), no update check.
  args.push("-c", "analytics.enabled=false", "-c", "check_for_update_on_startup=false");
  if (agent?.model) args.push("-m", agent.model);
  // Codex reads AGENTS.md itself; loopd's own instructions go in as extra developer
  // instructions, on top of (not instead of) Codex's built-in prompt.
  if (agent?.systemPrompt) args.push("-c", `developer_instructions=${tomlString(agent.systemPrompt)}`);
  if (agent?.baseUrl) {
    // One dotted key per field, so `extraArgs` can add e.g. `model_providers.loopd.stream_max_retries`.
    const key = `model_providers.${CODEX_PROVIDER}`;
    args.push("-c", `model_provider="${CODEX_PROVIDER}"`, "-c", `${key}.name="loopd"`);
    args.push("-c", `${key}.base_url=${tomlString(agent.baseUrl)}`, "-c", `${key}.env_key="OPENAI_API_KEY"`);
    args.push("-c", `${key}.wire_api="responses"`);
  }
  args.push(...extraArgs);
  // `--` so a prompt starting with "-" is not read as a flag.
  args.push("--", agent?.prompt ?? "");
  return args;
}

/**
 * A TOML basic string. JSON's escapes are valid TOML, except that DEL must be escaped too and
 * lone surrogates (which JSON writes as `\udXXX`) are not allowed at all.
 */
export function tomlString(value: string): string {
  const wellFormed = value.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
  return JSON.stringify(wellFormed).replaceAll("\u007f", "\\u007f");
}

/**
 * The model codex used when the routine named none: codex records it in the session file
 * (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-…-<thread id>.jsonl`); its JSON events do not.
 */
export function sessionModel(env: Record<string, string>, sessionId: string | null): string | null {
  const file = sessionFile(env, sessionId);
  return file ? firstModel(file) : null;
}

/** The session file Codex wrote for `sessionId`, or null. */
function sessionFile(env: Record<string, string>, sessionId: string | null): string | null {
  if (!sessionId) return null;
  const home = env.CODEX_HOME ?? (env.HOME ? join(env.HOME, ".codex") : null);
  if (!home) return null;
  const now = new Date();
  // The file sits under the day the session started (UTC): today, or yesterday past midnight.
  for (const day of [now, new Date(now.getTime() - 86_400_000)]) {
    const dir = join(home, "sessions", ...day.toISOString().slice(0, 10).split("-"));
    try {
      const file = readdirSync(dir).find((name) => name.endsWith(`${sessionId}.jsonl`));
      if (file) return join(dir, file);
    } catch {
      // no sessions for that day
    }
  }
  return null;
}

/**
 * A tool output in the session file saying the sandbox could not start the command, e.g.
 * "bwrap: execvp codex-linux-sandbox: No such file or directory" (exported for tests).
 * Codex reports such a call to the model only, not as a JSON event.
 */
export function sandboxFailureInSession(
  env: Record<string, string>,
  sessionId: string | null,
): string | null {
  const file = sessionFile(env, sessionId);
  if (!file) return null;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    if (!line.includes("_output")) continue;
    try {
      const payload = (JSON.parse(line) as { payload?: { type?: string; output?: unknown } }).payload;
      if (payload?.type !== "function_call_output" && payload?.type !== "custom_tool_call_output") continue;
      const output =
        typeof payload.output === "string" ? payload.output : JSON.stringify(payload.output ?? "");
      const match = SANDBOX_FAILED.exec(output);
      if (match) return `its sandbox could not start a command (${match[0].trim()})`;
    } catch {
      // a line Codex was still writing
    }
  }
  return null;
}

/** The first `"model":"…"` in the file's head (the turn context comes right after the session meta). */
function firstModel(path: string): string | null {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(1 << 20);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.toString("utf8", 0, read).match(/"model":"([^"]+)"/)?.[1] ?? null;
  } finally {
    closeSync(fd);
  }
}

async function preflightCodex(command: string, input: PreflightInput): Promise<PreflightResult> {
  const found = await locateCli(
    "codex",
    command,
    input,
    "Install it with `npm i -g @openai/codex`, or set `harnesses.codex.command` to its path.",
  );
  if (!found.installed) return found;
  const key = ["OPENAI_API_KEY", "CODEX_API_KEY"].find((name) => input.env[name]);
  if (key) {
    // Asked where the run will talk: the tier's server (codexArgs) or OPENAI_BASE_URL.
    const answer = await probeAuth({
      provider: "openai",
      baseUrl: input.baseUrl ?? input.env.OPENAI_BASE_URL ?? null,
      key: input.env[key]!,
    });
    const hint = rejectedKeyHint(key, "run `codex login`");
    return { ...found, ...probedAuth(answer, { harness: "codex", source: key, hint }) };
  }
  // A ChatGPT login: `codex login status` reads it without a request (best effort: a login
  // revoked on the server side shows only when the run's first call fails).
  const { execa } = await import("execa");
  const status = await execa(found.command, ["login", "status"], {
    env: input.env,
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: 15_000,
    cancelSignal: input.signal,
  });
  if (status.exitCode === 0)
    return {
      ...found,
      auth: "ok",
      authSource: "codex login",
      authDetail: "`codex login status` says logged in",
      error: null,
    };
  return {
    ...found,
    auth: "missing",
    error: {
      code: "LOOPD_AUTH_MISSING",
      message: "codex has no credentials: no OPENAI_API_KEY and `codex login status` says not logged in",
      hint: "Run `codex login`, or export OPENAI_API_KEY.",
    },
  };
}

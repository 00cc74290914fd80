/**
 * `LoopContext.commandSandbox`: commands a loop tick runs on code the agent just wrote
 * (ci-health's confirming re-runs of a fix) get the routine's sandbox, as the run's `verify`
 * does (verify.ts): the effective `sandbox` setting of a run of that routine (routine, global,
 * the harness's default), its allow-listed hosts and git remotes, the given folder writable;
 * no model endpoint, no model API key, and in the synthetic HOME only git's config (neither
 * the harness's login nor gh's: the command needs neither). `required` without working
 * confinement refuses (LOOPD_SANDBOX_UNAVAILABLE) instead of running unconfined; `on` without
 * it runs unconfined and says so in the run's log; `off` runs as the tick's own commands do.
 *
 * Confined, the environment is a run's (harness/agent-env.ts: the allow-list, the routine's
 * `secrets` and `env`, or everything with `inheritEnv: true`, and the LOOPD_* context), not the
 * daemon's whole one the tick's own commands get.
 */

import { LoopdError } from "../domain/errors.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { HarnessEvent } from "../harness/harness.js";
import { openCommandSandbox, withoutModelKeys } from "../harness/sandbox/command-sandbox.js";
import { sandboxRequest } from "../harness/sandbox/request.js";
import { bwrapProblem } from "../harness/sandbox/sandbox.js";
import { runShellCommand } from "../lib/shell-command.js";
import type { CommandSandbox, CommandSandboxInput } from "../loops/loop.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import { shellEnvironment } from "./run-environment.js";

export async function openLoopCommandSandbox(
  options: {
    run: ClaimedRun;
    settings: ConfigSettings;
    /** The daemon's environment. */
    baseEnv: NodeJS.ProcessEnv;
    /** The environment of the tick's own commands (what `sandbox: off` keeps). */
    commandEnv: Record<string, string>;
    signal: AbortSignal;
    emit: (event: HarnessEvent) => void;
  },
  input: CommandSandboxInput,
): Promise<CommandSandbox> {
  const { run } = options;
  const extra = input.env ?? {};
  const runEnv = { ...shellEnvironment(run, input.cwd, options.baseEnv).env, ...extra };
  const request = sandboxRequest({
    spec: run.spec,
    settings: options.settings,
    harness: run.spec.harness,
    baseUrl: null,
    env: runEnv,
    // As the harness and verify decide (confined-harness.ts, attempt-harness.ts).
    baseEnv: process.env,
  });
  if (request === null) {
    return commands("unconfined (sandbox: off)", false, options, input.cwd, {
      ...options.commandEnv,
      ...extra,
    });
  }
  const readable = input.readable ?? [];
  const opened = await openCommandSandbox({
    request: {
      ...request,
      setting: { ...request.setting, allowRead: [...request.setting.allowRead, ...readable] },
      github: false,
    },
    // No harness's config in the synthetic HOME: git's only.
    harness: "builtin",
    cwd: input.cwd,
    env: runEnv,
    emit: options.emit,
    quiet: true,
  });
  if (opened.kind === "refused") {
    throw new LoopdError("LOOPD_SANDBOX_UNAVAILABLE", opened.error.message, { hint: opened.error.hint });
  }
  if (opened.kind === "none") {
    const why = bwrapProblem(request.bwrap) ?? "it could not start";
    return commands(
      `UNCONFINED (sandbox is on but ${why})`,
      false,
      options,
      input.cwd,
      withoutModelKeys(runEnv),
    );
  }
  const { sandbox } = opened;
  return {
    ...commands(
      `in the routine's sandbox (${request.setting.mode})`,
      true,
      options,
      input.cwd,
      runEnv,
      sandbox,
    ),
    close: () => sandbox.close(),
  };
}

function commands(
  description: string,
  confined: boolean,
  options: { signal: AbortSignal },
  cwd: string,
  env: Record<string, string>,
  sandbox: Parameters<typeof runShellCommand>[1]["confine"] = null,
): CommandSandbox {
  return {
    description,
    confined,
    run: (command, runOptions = {}) =>
      runShellCommand(command, {
        cwd,
        env,
        signal: options.signal,
        confine: sandbox,
        ...(runOptions.onLine ? { onLine: runOptions.onLine } : {}),
        ...(runOptions.timeoutMs !== undefined ? { timeoutMs: runOptions.timeoutMs } : {}),
      }),
    close: async () => {},
  };
}

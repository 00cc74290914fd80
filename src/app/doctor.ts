/**
 * `loopd doctor`: for every harness, is it installed (which binary, which version), are its
 * credentials present and accepted — checked the way a run checks them (harness preflight:
 * a key is tried against the provider's model list, auth-probe.ts), with the environment and
 * at the endpoint each routine's runs will use — and what went wrong last time a run checked
 * (from any worker). Routines that paused themselves for auth are listed with what fixes
 * them and the resume command, and routines nothing is scheduling (misfires). Also git,
 * which worktrees need.
 */
import { existsSync } from "node:fs";
import { isAuthPause } from "../domain/auth-pause.js";
import { ERROR_CODES } from "../domain/error-codes.js";
import { misfireOf } from "../domain/misfire.js";
import { tierOrder } from "../domain/router.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import { bwrapSetting, effectiveSandbox } from "../domain/sandbox.js";
import type { ConfigSettings } from "../domain/settings.js";
import { agentEnvironment } from "../harness/agent-env.js";
import { commandVersion, findExecutable } from "../harness/executable.js";
import type { AuthState, Harness, HarnessRegistry, PreflightResult } from "../harness/harness.js";
import { probeSandbox } from "../harness/sandbox/probe.js";
import { listHarnessHealth } from "../store/harness-health.js";
import { listRoutines, type Routine } from "../store/routines.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";

export interface HarnessDoctorView {
  harness: string;
  installed: boolean;
  command: string | null;
  version: string | null;
  auth: AuthState | "n/a";
  authSource: string | null;
  /** How the credential was checked: "accepted by <url>", "rejected by <url>", or why it could not be. */
  authDetail: string | null;
  /** Why a run would not start now. */
  error: { code: string; message: string; hint: string } | null;
  /** The last error a run's preflight recorded (any worker), with when. */
  lastError: { code: string; message: string; at: string } | null;
  /** Routines that need this harness: the active ones and those paused for auth. */
  routines: string[];
  /** Those of them whose check failed (`error`). */
  failing: string[];
}

/** A routine that paused itself because its credentials kept failing. */
export interface AuthPausedView {
  routine: string;
  harness: string;
  /** `paused_code`: LOOPD_AUTH_EXPIRED, LOOPD_AUTH_MISSING. */
  code: string;
  reason: string | null;
  /** What fixes it: the harness's hint while its check still fails, else that it passes now. */
  fix: string;
  /** The command that starts it again once fixed. */
  resume: string;
}

/** A routine nothing has scheduled for more than two periods (domain/misfire.ts). */
export interface MisfireView {
  routine: string;
  /** The due time that passed with no run. */
  dueAt: string;
  lateByMs: number;
  hint: string;
}

export interface DoctorReport {
  git: { installed: boolean; version: string | null };
  harnesses: HarnessDoctorView[];
  pausedForAuth: AuthPausedView[];
  misfires: MisfireView[];
  /** Whether runs can be confined here (a probe sandbox), and which routines ask for it. */
  sandbox: {
    works: boolean;
    bwrap: string;
    problem: string | null;
    /** Active routines whose effective `sandbox` is on / required (domain/sandbox.ts). */
    on: string[];
    required: string[];
  };
  /**
   * Git is there, every harness a routine needs is ready, no routine is paused for auth, and
   * routines with `sandbox: required` can be confined.
   */
  ok: boolean;
}

/** Where one routine's runs talk: the harness, model and base URL of each tier it may use. */
interface Endpoint {
  harness: string;
  model: string | null;
  baseUrl: string | null;
}

/** A distinct preflight: one endpoint with one environment, and the routines it stands for. */
interface Check {
  harness: Harness;
  endpoint: Endpoint;
  env: Record<string, string>;
  cwd: string;
  routines: string[];
}

type Tier = { harness?: string; model?: string; baseUrl?: string };

export async function doctor(
  store: Store,
  harnesses: HarnessRegistry,
  env: NodeJS.ProcessEnv,
): Promise<DoctorReport> {
  const [history, routines, settings] = await Promise.all([
    listHarnessHealth(store.db),
    listRoutines(store.db),
    getSetting<ConfigSettings>(store.db, CONFIG_SETTING),
  ]);
  const tiers = (settings?.models ?? {}) as Record<string, Tier>;
  const needed = routines.filter(
    (routine) =>
      routine.state === "active" || (routine.state === "paused" && isAuthPause(routine.pausedCode)),
  );
  const signal = AbortSignal.timeout(30_000);
  const routed = (settings?.routing?.rules ?? []).length > 0;
  const checks = checksFor(needed, harnesses, { tiers, routed }, env);
  const results = new Map<Check, PreflightResult>();
  await Promise.all(
    [...checks.values()].map(async (check) => {
      if (!check.harness.preflight) return;
      const result = await check.harness.preflight({
        env: check.env,
        cwd: check.cwd,
        baseUrl: check.endpoint.baseUrl,
        model: check.endpoint.model,
        signal,
      });
      results.set(check, result);
    }),
  );

  const views = [...harnesses.values()].map((harness): HarnessDoctorView => {
    const last = history.find((entry) => entry.harness === harness.name)?.lastError ?? null;
    const lastError = last
      ? { code: last.code, message: last.message, at: new Date(last.at).toISOString() }
      : null;
    const own = [...checks.values()].filter((check) => check.harness === harness);
    // Shell routines have no preflight (so no check), yet they do use their harness.
    const direct = needed.filter((routine) => routine.spec.harness === harness.name).map((r) => r.name);
    const users = [...new Set([...own.flatMap((check) => check.routines), ...direct])].sort();
    const answered = own.flatMap((check) => {
      const result = results.get(check);
      return result ? [{ check, result }] : [];
    });
    if (answered.length === 0) {
      return {
        harness: harness.name,
        installed: true,
        command: null,
        version: null,
        auth: "n/a",
        authSource: null,
        authDetail: null,
        error: null,
        lastError,
        routines: users,
        failing: [],
      };
    }
    // The worst answer speaks for the harness: a failure, else a check that could not be made.
    const worst =
      answered.find(({ result }) => result.error) ??
      answered.find(({ result }) => result.auth === "unknown") ??
      answered[0]!;
    const failing = answered.filter(({ result }) => result.error).flatMap(({ check }) => check.routines);
    return {
      harness: harness.name,
      installed: worst.result.installed,
      command: worst.result.command,
      version: worst.result.version,
      auth: worst.result.auth,
      authSource: worst.result.authSource,
      authDetail: worst.result.authDetail ?? null,
      error: worst.result.error,
      lastError,
      routines: users,
      failing: [...new Set(failing)].sort(),
    };
  });

  const pausedForAuth = needed
    .filter((routine) => routine.state === "paused")
    .map((routine): AuthPausedView => {
      const failed = [...checks.values()]
        .filter((check) => check.routines.includes(routine.name))
        .map((check) => results.get(check)?.error)
        .find((error) => error);
      return {
        routine: routine.name,
        harness: routine.spec.harness,
        code: routine.pausedCode ?? "LOOPD_AUTH_EXPIRED",
        reason: routine.pausedReason,
        fix: failed ? failed.hint : "its credentials pass the check now",
        resume: `loopd resume ${routine.name}`,
      };
    });

  const gitPath = findExecutable("git", env.PATH);
  const git = {
    installed: gitPath !== null,
    version: gitPath ? await commandVersion(gitPath, { PATH: env.PATH ?? "" }) : null,
  };
  const misfires = misfiresOf(routines, Date.now());
  const sandbox = sandboxReport(needed, settings, env);
  const ok =
    (sandbox.works || sandbox.required.length === 0) &&
    git.installed &&
    views.every((view) => view.error === null || view.failing.length === 0) &&
    pausedForAuth.length === 0 &&
    misfires.length === 0;
  return { git, harnesses: views, pausedForAuth, misfires, sandbox, ok };
}

function misfiresOf(routines: readonly Routine[], now: number): MisfireView[] {
  return routines.flatMap((routine) => {
    const misfire = misfireOf(
      { state: routine.state, nextDueAt: routine.nextDueAt, trigger: routine.spec.trigger },
      now,
    );
    if (!misfire) return [];
    return [
      {
        routine: routine.name,
        dueAt: new Date(misfire.dueAt).toISOString(),
        lateByMs: misfire.lateByMs,
        hint: ERROR_CODES.LOOPD_ROUTINE_MISFIRE.hint,
      },
    ];
  });
}

/**
 * One check per distinct (harness, model, base URL, environment) among the routines, and one
 * with the daemon's own environment for each harness no routine uses, so a machine with no
 * routines yet still learns what works.
 */
function checksFor(
  routines: readonly Routine[],
  harnesses: HarnessRegistry,
  routing: { tiers: Record<string, Tier>; routed: boolean },
  env: NodeJS.ProcessEnv,
): Map<string, Check> {
  const checks = new Map<string, Check>();
  const add = (harness: Harness, endpoint: Endpoint, spec: RoutineSpec | null, routine: string | null) => {
    const { env: runEnv } = agentEnvironment({
      base: env,
      harnessKeys: harness.envKeys ?? [],
      secretNames: spec?.secrets ?? [],
      env: spec?.env ?? {},
      context: {},
    });
    const cwd = spec && existsSync(spec.repo) ? spec.repo : process.cwd();
    const key = JSON.stringify([harness.name, endpoint.model, endpoint.baseUrl, cwd, runEnv]);
    const check = checks.get(key) ?? { harness, endpoint, env: runEnv, cwd, routines: [] };
    if (routine && !check.routines.includes(routine)) check.routines.push(routine);
    checks.set(key, check);
  };
  for (const routine of routines) {
    if (routine.spec.harness === "shell") continue;
    for (const endpoint of endpointsOf(routine.spec, routing)) {
      const harness = harnesses.get(endpoint.harness);
      if (harness) add(harness, endpoint, routine.spec, routine.name);
    }
  }
  for (const harness of harnesses.values()) {
    if (![...checks.values()].some((check) => check.harness === harness))
      add(harness, { harness: harness.name, model: null, baseUrl: null }, null, null);
  }
  return checks;
}

/**
 * The endpoints a routine's runs may use, as the router picks them (engine/attempt-plan.ts):
 * its own model, else its tier and escalation tiers (any tier when the router chooses without
 * one: routing rules, or escalation with no starting tier), else the harness's default.
 */
function endpointsOf(
  spec: RoutineSpec,
  routing: { tiers: Record<string, Tier>; routed: boolean },
): Endpoint[] {
  const { tiers } = routing;
  const names = tierOrder(tiers);
  if (spec.model !== undefined || names.length === 0)
    return [{ harness: spec.harness, model: spec.model ?? null, baseUrl: null }];
  const used =
    spec.tier !== undefined
      ? [spec.tier, ...spec.escalate]
      : spec.escalate.length > 0 || routing.routed
        ? names
        : [];
  if (used.length === 0) return [{ harness: spec.harness, model: null, baseUrl: null }];
  return [...new Set(used)].map((name) => {
    const tier = tiers[name] ?? {};
    return {
      harness: tier.harness ?? spec.harness,
      model: tier.model ?? null,
      baseUrl: tier.baseUrl ?? null,
    };
  });
}

/** The probe and the routines that want confinement (only asked when some routine does). */
function sandboxReport(
  routines: ReadonlyArray<{ name: string; spec: RoutineSpec }>,
  settings: ConfigSettings | null | undefined,
  env: NodeJS.ProcessEnv,
): DoctorReport["sandbox"] {
  const modes = routines.map((routine) => ({
    name: routine.name,
    mode: effectiveSandbox(routine.spec.sandbox, settings?.sandbox, routine.spec.harness).mode,
  }));
  const on = modes.filter((entry) => entry.mode === "on").map((entry) => entry.name);
  const required = modes.filter((entry) => entry.mode === "required").map((entry) => entry.name);
  const probe = probeSandbox(env.LOOPD_BWRAP || bwrapSetting(settings?.sandbox) || "bwrap");
  return { ...probe, on, required };
}

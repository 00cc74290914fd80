/**
 * `loopd doctor`: for every harness, is it installed (which binary, which version), are its
 * credentials present and working — checked with the same allow-listed environment a run
 * gets — and what went wrong last time a run checked (from any worker). Also git, which
 * worktrees need. Routines nothing is scheduling (misfires) are listed too.
 */
import { ERROR_CODES } from "../domain/error-codes.js";
import { misfireOf } from "../domain/misfire.js";
import { agentEnvironment } from "../harness/agent-env.js";
import { commandVersion, findExecutable } from "../harness/executable.js";
import type { AuthState, HarnessRegistry, PreflightResult } from "../harness/harness.js";
import { listHarnessHealth } from "../store/harness-health.js";
import { listRoutines, type Routine } from "../store/routines.js";
import type { Store } from "../store/store.js";

export interface HarnessDoctorView {
  harness: string;
  installed: boolean;
  command: string | null;
  version: string | null;
  auth: AuthState | "n/a";
  authSource: string | null;
  /** Why a run would not start now. */
  error: { code: string; message: string; hint: string } | null;
  /** The last error a run's preflight recorded (any worker), with when. */
  lastError: { code: string; message: string; at: string } | null;
  /** Active routines that use this harness. */
  routines: string[];
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
  misfires: MisfireView[];
  /** A harness that an active routine needs is not ready, or a routine misfires. */
  ok: boolean;
}

export async function doctor(
  store: Store,
  harnesses: HarnessRegistry,
  env: NodeJS.ProcessEnv,
): Promise<DoctorReport> {
  const [history, routines] = await Promise.all([listHarnessHealth(store.db), listRoutines(store.db)]);
  const signal = AbortSignal.timeout(30_000);
  const views = await Promise.all(
    [...harnesses.values()].map(async (harness): Promise<HarnessDoctorView> => {
      const users = routines
        .filter((routine) => routine.state === "active" && routine.spec.harness === harness.name)
        .map((routine) => routine.name);
      const last = history.find((entry) => entry.harness === harness.name)?.lastError ?? null;
      const lastError = last
        ? { code: last.code, message: last.message, at: new Date(last.at).toISOString() }
        : null;
      if (!harness.preflight) {
        return {
          harness: harness.name,
          installed: true,
          command: null,
          version: null,
          auth: "n/a",
          authSource: null,
          error: null,
          lastError,
          routines: users,
        };
      }
      const { env: runEnv } = agentEnvironment({
        base: env,
        harnessKeys: harness.envKeys ?? [],
        secretNames: [],
        env: {},
        context: {},
      });
      const result: PreflightResult = await harness.preflight({
        env: runEnv,
        cwd: process.cwd(),
        baseUrl: null,
        signal,
      });
      return {
        harness: harness.name,
        installed: result.installed,
        command: result.command,
        version: result.version,
        auth: result.auth,
        authSource: result.authSource,
        error: result.error,
        lastError,
        routines: users,
      };
    }),
  );
  const gitPath = findExecutable("git", env.PATH);
  const git = {
    installed: gitPath !== null,
    version: gitPath ? await commandVersion(gitPath, { PATH: env.PATH ?? "" }) : null,
  };
  const misfires = misfiresOf(routines, Date.now());
  const ok =
    git.installed &&
    views.every((view) => view.error === null || view.routines.length === 0) &&
    misfires.length === 0;
  return { git, harnesses: views, misfires, ok };
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

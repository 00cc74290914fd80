/** How `loopd doctor` prints its checks (app/doctor-checks.ts) and which one fails the command. */
import type { DoctorCheck } from "../app/doctor-checks.js";
import { LoopdError } from "../domain/errors.js";
import { pc } from "./format.js";

const MARKS = { ok: pc.green("✓"), warn: pc.yellow("!"), fail: pc.red("✗") } as const;

/** One line a check, its hint under it when it is not ok. */
export function renderChecks(checks: readonly DoctorCheck[]): string {
  const width = Math.max(...checks.map((entry) => entry.code.length));
  return checks
    .map((entry) => {
      const line = `${MARKS[entry.status]} ${entry.code.padEnd(width)}  ${entry.status === "ok" ? entry.message : entry.status === "warn" ? pc.yellow(entry.message) : pc.red(entry.message)}`;
      return entry.status !== "ok" && entry.hint
        ? `${line}\n  ${" ".repeat(width)}  ${pc.dim(`fix: ${entry.hint}`)}`
        : line;
    })
    .join("\n");
}

/** The first failed check as the command's error (its code sets the exit code); warnings pass. */
export function checksFailure(checks: readonly DoctorCheck[]): LoopdError | null {
  const failed = checks.find((entry) => entry.status === "fail");
  if (!failed) return null;
  return new LoopdError(failed.error ?? "LOOPD_INTERNAL", failed.message, {
    ...(failed.hint ? { hint: failed.hint } : {}),
  });
}

/**
 * What `loopd apply` will do: compare the routines declared in a file with the store's and
 * list the changes. Pure, so `--dry-run` and the real apply show exactly the same plan.
 *
 * Ownership: a routine belongs to the file that last applied it (`source`). A routine that
 * its own file no longer declares is paused (history kept) or, with `--prune`, removed.
 * Routines created another way (`loopd remind`, the API, another file) are left alone.
 *
 * That pause is marked `paused_code = "removed"`, so putting the routine back in the file
 * resumes it — and only it: a `loopd pause` (`user`), an auth or failure pause stays, because
 * leaving and re-entering the file says nothing about why someone else paused it.
 */
import { canonicalJson } from "./canonical-json.js";
import type { RoutineSpec } from "./routine-spec.js";

export interface StoredRoutine {
  name: string;
  source: string | null;
  spec: RoutineSpec;
  specHash: string;
  state: "active" | "paused";
  /** Why it is paused, as a code (`removed`, `user`, LOOPD_AUTH_*, …); null when active. */
  pausedCode: string | null;
  pausedReason: string | null;
}

/** `routines.paused_code` of a routine apply paused because its file stopped declaring it. */
export const REMOVED_PAUSE_CODE = "removed";

export interface DeclaredRoutine {
  spec: RoutineSpec;
  specHash: string;
}

export type RoutineChange =
  | { action: "create"; name: string; spec: RoutineSpec; specHash: string }
  | { action: "update"; name: string; fields: string[]; spec: RoutineSpec; specHash: string }
  | { action: "unchanged"; name: string }
  /** Paused because it left its file, and declared again: active again (with any spec change). */
  | { action: "resume"; name: string; reason: string; fields: string[]; spec: RoutineSpec; specHash: string }
  | { action: "pause"; name: string; reason: string }
  | { action: "remove"; name: string; reason: string };

export interface ApplyPlan {
  changes: RoutineChange[];
  /** Config-wide sections (models, budgets, channels, dates) whose value changes. */
  settings: string[];
}

export function planApply(input: {
  source: string;
  sourceLabel: string;
  declared: readonly DeclaredRoutine[];
  stored: readonly StoredRoutine[];
  declaredSettings: Record<string, unknown>;
  storedSettings: Record<string, unknown> | undefined;
  prune: boolean;
}): ApplyPlan {
  const stored = new Map(input.stored.map((routine) => [routine.name, routine]));
  const changes: RoutineChange[] = input.declared.map(({ spec, specHash }): RoutineChange => {
    const before = stored.get(spec.name);
    if (before === undefined) return { action: "create", name: spec.name, spec, specHash };
    const fields = changedFields(before.spec, spec);
    if (before.source !== input.source) fields.push("source");
    if (pausedForLeaving(before)) {
      const reason = `back in ${input.sourceLabel}`;
      return { action: "resume", name: spec.name, reason, fields, spec, specHash };
    }
    if (fields.length === 0 && before.specHash === specHash) return { action: "unchanged", name: spec.name };
    return { action: "update", name: spec.name, fields, spec, specHash };
  });

  const declaredNames = new Set(input.declared.map(({ spec }) => spec.name));
  for (const routine of input.stored) {
    if (routine.source !== input.source || declaredNames.has(routine.name)) continue;
    const reason = `no longer in ${input.sourceLabel}`;
    if (input.prune) changes.push({ action: "remove", name: routine.name, reason });
    else if (routine.state !== "paused") changes.push({ action: "pause", name: routine.name, reason });
  }

  // A section the store has never seen counts as empty, as one absent from the file does: the
  // first apply lists only the sections the file sets, not every section loopd knows.
  const settings = Object.keys(input.declaredSettings).filter(
    (key) =>
      canonicalJson(input.declaredSettings[key] ?? {}) !== canonicalJson(input.storedSettings?.[key] ?? {}),
  );
  return { changes, settings };
}

/**
 * Paused by apply for leaving its file. Stores from before `paused_code` have the code null
 * and only the words apply wrote; those count too, so a routine stuck that way comes back.
 */
function pausedForLeaving(routine: StoredRoutine): boolean {
  if (routine.state !== "paused") return false;
  if (routine.pausedCode === REMOVED_PAUSE_CODE) return true;
  return routine.pausedCode === null && (routine.pausedReason?.startsWith("no longer in ") ?? false);
}

function changedFields(before: RoutineSpec, after: RoutineSpec): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys]
    .filter(
      (key) =>
        canonicalJson((before as unknown as Record<string, unknown>)[key]) !==
        canonicalJson((after as unknown as Record<string, unknown>)[key]),
    )
    .sort();
}

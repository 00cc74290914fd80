/** Builds routines for engine tests the way `apply` does: from YAML, through the schema. */
import { stringify } from "yaml";
import { parseConfigText } from "../../src/config/load-config.js";
import { specHash, toRoutineSpec } from "../../src/domain/routine-spec.js";
import { insertRoutine, type Routine } from "../../src/store/routines.js";
import type { Store } from "../../src/store/store.js";

export async function addRoutine(
  store: Store,
  fields: Record<string, unknown>,
  options: { repo: string; nextDueAt: number | null; now: number; paused?: boolean },
): Promise<Routine> {
  const config = parseConfigText(stringify({ routines: [{ repo: options.repo, ...fields }] }), "test.yaml");
  const spec = toRoutineSpec(config.routines[0]!, 0, {
    configDir: options.repo,
    defaultTimeZone: "UTC",
    config,
  });
  return insertRoutine(store.db, {
    name: spec.name,
    source: null,
    spec,
    specHash: specHash(spec),
    state: options.paused ? "paused" : "active",
    pausedReason: null,
    nextDueAt: options.nextDueAt,
    now: options.now,
  });
}

export class FakeClock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

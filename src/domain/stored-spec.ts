/**
 * A routine spec as read back from the store (`routines.spec`, JSON written by routine-spec.ts):
 * specs written by an older loopd lack newer fields, and get the defaults the config would give
 * them now. Its own file so the store's readers (`loopd ls` reads 1,000 of them) load neither
 * the config schema nor the templates that routine-spec.ts converts loopd.yaml with.
 */
import type { RoutineSpec, TaskSpec } from "./routine-spec.js";
import { defaultDeliverMode } from "./run-delivery.js";

export function storedSpec(json: string): RoutineSpec {
  const spec = JSON.parse(json) as RoutineSpec;
  const task = spec.task as TaskSpec | { kind: "template"; template: string; params: unknown };
  // Before templates expanded to plain routines, a `template` task was a prompt naming it.
  if (task.kind === "template") {
    spec.task = {
      kind: "prompt",
      prompt: `Carry out the "${task.template}" routine with these parameters:\n${JSON.stringify(task.params, null, 2)}`,
    };
  }
  spec.docs ??= [];
  spec.memory ??= spec.harness !== "shell";
  // Specs stored before `deliver` existed get the default the config would give them now.
  spec.deliver ??= defaultDeliverMode(spec);
  spec.secrets ??= [];
  spec.env ??= {};
  spec.agents ??= [];
  return spec;
}

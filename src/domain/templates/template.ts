/**
 * A built-in template: a named, parameterised plain routine. `expand(params)` returns the
 * routine in loopd.yaml's shape (prompt, schedule and budget defaults, and a `loop` entry
 * that runs a built-in deterministic tick); the routine's own fields override it. Templates
 * are pure data + functions, so config validation (domain/) can expand them.
 */
import type { z } from "zod";

export interface RoutineTemplate {
  name: string;
  /** One line, for `loopd templates`. */
  description: string;
  /** Whether the loop behind it is built; a template that is not ready is refused by the config. */
  ready: boolean;
  /** The params, strict, every key described (`.meta({ description })`), defaults given. */
  params: z.ZodType<Record<string, unknown>, Record<string, unknown>>;
  /** The plain routine (without `name`) for valid params (defaults filled in). */
  expand(params: Record<string, unknown>): Record<string, unknown>;
  /** The routine `loopd init --template` writes: YAML lines with comments, without the list dash. */
  example: string;
}

/** The built-in loop a routine's `loop` entry runs: its kind and its params with defaults filled in. */
export interface LoopSpec {
  kind: string;
  [param: string]: unknown;
}

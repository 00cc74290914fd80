/**
 * A reminder plan: what `loopd remind "<sentence>"` understood — when to look, at what, which
 * check decides, and what to do about it. The deterministic parser and the model fallback
 * both produce this shape, validated by the same schema, and `planToRoutine` turns it into
 * the routine a user could have written in loopd.yaml by hand.
 */
import { z } from "zod";
import { checkSchema } from "./config-checks.js";
import { intervalSchema, name } from "./config-values.js";
import { isIanaTimeZone } from "./time-zone.js";

/** Absolute instants only: a plan is resolved against "now" and the user's zone once. */
const isoInstant = z.iso.datetime({ offset: true, error: "expected an ISO 8601 instant with an offset" });

const backoffSchema = intervalSchema.optional().meta({
  description: "While the verdict stays the same, double the interval up to this (CI status: 2h).",
});

export const remindWhenSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("at"), at: isoInstant }).meta({ description: "Evaluate once at `at`." }),
  z
    .strictObject({
      mode: z.literal("by"),
      deadline: isoInstant,
      every: intervalSchema,
      backoff: backoffSchema,
    })
    .meta({ description: "Evaluate every `every` until satisfied, or until the deadline passes." }),
  z
    .strictObject({ mode: z.literal("after-retry"), at: isoInstant })
    .meta({ description: "Run the test (with retries) once at `at`." }),
  z
    .strictObject({ mode: z.literal("until-satisfied"), every: intervalSchema, backoff: backoffSchema })
    .meta({ description: 'Evaluate every `every` until satisfied ("tell me when …").' }),
]);

export const remindPlanSchema = z.strictObject({
  when: remindWhenSchema,
  /** The URL, test id or command the sentence is about, as written. */
  subject: z.string().min(1),
  check: checkSchema,
  /** "ping me if it isn't resolved" → unsatisfied; "tell me when it's merged" → satisfied. */
  notifyOn: z.enum(["unsatisfied", "satisfied"]),
  /** A routine to start when the check is not met ("…and run fix-flaky"). */
  run: name("routine").optional(),
  /**
   * The IANA zone the sentence was read in: the zone it names ("9am America/New_York", "5pm
   * CET"), else the caller's. The routine's `tz`; instants above carry its offset.
   */
  timeZone: z
    .string()
    .refine(isIanaTimeZone, { error: "expected an IANA time zone such as Europe/Berlin" })
    .optional(),
});

export type RemindPlan = z.output<typeof remindPlanSchema>;
export type RemindWhen = z.output<typeof remindWhenSchema>;

/** Failures that are the sentence's own contradiction: no model could read them better. */
export type RemindFailureCode =
  | "LOOPD_REMIND_AMBIGUOUS_ZONE"
  | "LOOPD_REMIND_ZONE_CONFLICT"
  | "LOOPD_REMIND_TIME_CONFLICT";

/**
 * The parser's answer: a plan, or why not. Without a `code` the caller may ask a model and
 * reports LOOPD_REMIND_UNPARSED with examples; with one it reports that code and hint.
 */
export type ParseResult =
  | { ok: true; plan: RemindPlan }
  | { ok: false; reason: string; code?: RemindFailureCode; hint?: string };

/** Sentences the deterministic parser understands, shown when it understands nothing. */
export const REMIND_EXAMPLES = [
  'loopd remind "tomorrow, check in on https://github.com/acme/web/discussions/12 and ping me if it isn\'t resolved"',
  'loopd remind "let me know if https://github.com/acme/web/issues/34 isn\'t fixed by the day before launch"',
  'loopd remind "bug me if test/sync.test.ts doesn\'t go green after retry"',
] as const;

/**
 * The routine for a plan, in loopd.yaml's own shape (so `--yaml` prints something a user can
 * paste into the file). `to` are the channels that hear about it.
 */
export function planToRoutine(
  plan: RemindPlan,
  options: { name: string; to: readonly string[]; description: string },
): Record<string, unknown> {
  const when = plan.when;
  const trigger: Record<string, unknown> =
    when.mode === "at" || when.mode === "after-retry"
      ? { at: when.at }
      : when.mode === "by"
        ? { by: when.deadline, every: when.every, ...backoffOf(when) }
        : { every: when.every, ...backoffOf(when), until: { satisfied: true } };
  const on =
    plan.notifyOn === "satisfied"
      ? ["satisfied", "failure"]
      : when.mode === "by"
        ? ["deadline", "failure"]
        : ["unsatisfied", "failure"];
  return {
    name: options.name,
    description: options.description,
    ...trigger,
    check: plan.check,
    ...(plan.run !== undefined ? { onUnsatisfied: { run: plan.run } } : {}),
    ...(options.to.length > 0
      ? { notify: { to: options.to.length === 1 ? options.to[0] : [...options.to], on } }
      : {}),
    labels: ["remind"],
  };
}

function backoffOf(when: { backoff?: string | undefined }): { backoff?: string } {
  return when.backoff !== undefined ? { backoff: when.backoff } : {};
}

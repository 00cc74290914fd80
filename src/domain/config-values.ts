/**
 * The value types of loopd.yaml (zod 4): names, durations, cron expressions, time zones,
 * instants, money, environment variable names, URLs and webhook secrets, plus the enums.
 * Each validates one field and says in words what it expected.
 */
import { Cron } from "croner";
import { z } from "zod";
import { DAY_MS, type DurationBounds, durationBoundsError, parseDuration, SECOND_MS } from "./duration.js";
import { isInstantSyntax } from "./instant.js";
import { isIanaTimeZone } from "./time-zone.js";

export const HARNESSES = ["claude", "codex", "gemini", "opencode", "builtin", "shell"] as const;
export const CATCH_UP_POLICIES = ["latest", "all", "none"] as const;
export const OVERLAP_POLICIES = ["skip", "queue", "cancel-previous", "allow"] as const;
export const WORKSPACE_MODES = ["worktree", "in-place"] as const;
export const NOTIFY_EVENTS = [
  "start",
  "success",
  "failure",
  "timeout",
  "skipped",
  "satisfied",
  "unsatisfied",
  "deadline",
  "budget",
  "auth",
  /** A built-in loop's report (ci-health's digest of what changed): sent only when there is news. */
  "report",
] as const;

/** Routine and tier names end up in branch names (`loopd/<routine>/<run>`) and URLs. */
const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const name = (what: string) =>
  z
    .string({ error: `expected a ${what} name` })
    .regex(NAME_PATTERN, { error: `a ${what} name uses lowercase letters, digits and dashes (max 63)` });

/** Bounds of duration fields beyond "positive and at most 100 years" (domain/duration.ts). */
export const DURATION_LIMITS = {
  /** `every`: a shorter interval writes a run row per tick (`every: 1ms` wrote 9,109 in 10 s). */
  interval: { min: SECOND_MS },
  /** Run and verification timeouts: Node's timers fire at once past 24.8 days; a week is plenty. */
  timeout: { min: SECOND_MS, max: 7 * DAY_MS },
} as const satisfies Record<string, DurationBounds>;

/** A duration string within `bounds`; the message names the limit it broke. */
export function boundedDuration(bounds: DurationBounds = {}) {
  return z
    .string({ error: "expected a duration like 30s, 10m, 2h or 1d" })
    .superRefine((value, ctx) => {
      const parsed = parseDuration(value);
      const reason = parsed.ok ? durationBoundsError(value, parsed.ms, bounds) : parsed.reason;
      if (reason !== null) ctx.addIssue({ code: "custom", message: reason });
    })
    .meta({ description: "A positive duration with a unit: 30s, 10m, 2h, 1d, 1w.", examples: ["30m"] });
}

export const durationSchema = boundedDuration();
/** `every`: at least 1s. */
export const intervalSchema = boundedDuration(DURATION_LIMITS.interval);
/** `timeout`, `verify.timeout`: 1s to 7d. */
export const timeoutSchema = boundedDuration(DURATION_LIMITS.timeout);

export const cronSchema = z
  .string({ error: "expected a cron expression" })
  .superRefine((value, ctx) => {
    try {
      new Cron(value, { paused: true });
    } catch {
      ctx.addIssue({ code: "custom", message: `"${value}" is not a valid cron expression` });
    }
  })
  .meta({
    description: "Cron expression (5 fields, or 6 with seconds first), evaluated in `tz`.",
    examples: ["0 9 * * 1-5"],
  });

export const timeZoneSchema = z
  .string({ error: "expected an IANA time zone" })
  .superRefine((value, ctx) => {
    if (!isIanaTimeZone(value)) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not an IANA time zone (e.g. Europe/Berlin, UTC)`,
      });
    }
  })
  .meta({ description: "IANA time-zone name; defaults to the zone of the machine running `loopd apply`." });

export const instantSchema = z
  .string({ error: "expected a date/time" })
  .superRefine((value, ctx) => {
    if (!isInstantSyntax(value)) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not a date/time; use 2026-11-29, 2026-11-29T09:00 or a named date`,
      });
    }
  })
  .meta({
    description:
      "ISO date (start of day), ISO local date-time (in the routine's zone), ISO instant with offset, or a named date from `dates`, optionally ± a duration (`launch - 1d`).",
    examples: ["2026-11-29T09:00", "launch - 1d"],
  });

export const money = z
  .number({ error: "expected an amount in USD" })
  .positive({ error: "must be a positive amount" });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const envName = z
  .string()
  .regex(ENV_NAME, { error: "an environment variable name (letters, digits, _)" });

export const url = z.url({ error: "expected a URL" });

export const webhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/=]+$/, { error: "a Standard Webhooks secret starts with whsec_" });

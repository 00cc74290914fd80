/**
 * A trigger in words, in one style wherever it is shown — `loopd ls`, `show`, the API's
 * `trigger`, the dashboard (which imports this module, so it describes triggers in the
 * browser's own zone): lower case, whole words ("every 30 seconds", "every 2 hours",
 * "at 09:00, Monday through Friday"), 24-hour times, and the zone only when it differs from
 * the viewer's. Kept apart from trigger.ts so the dashboard bundle needs no scheduler
 * (croner, Temporal): wall times come from the runtime's own Intl.
 */
import cronstrue from "cronstrue";
import type { TriggerSpec } from "./trigger.js";

export interface DescribeOptions {
  /** The zone of whoever reads it; a trigger in another zone says which. Unknown: always said. */
  viewerTimeZone?: string;
}

/** "every 30 minutes", "at 09:00, Monday through Friday (Europe/Berlin)", "once at 2026-12-09 09:00". */
export function describeTrigger(trigger: TriggerSpec, options: DescribeOptions = {}): string {
  const zone = (tz: string) =>
    options.viewerTimeZone !== undefined && sameZone(tz, options.viewerTimeZone) ? "" : ` (${tz})`;
  switch (trigger.kind) {
    case "every":
      return (
        describeInterval(trigger.everyMs) +
        (trigger.jitterMs ? ` ±${describeAmount(trigger.jitterMs)}` : "") +
        describeBackoff(trigger.backoffMs)
      );
    case "cron":
      return `${describeCron(trigger.cron)}${zone(trigger.tz)}`;
    case "at":
      return `once at ${describeWall(trigger.at, trigger.tz)}${zone(trigger.tz)}`;
    case "by":
      return `${describeInterval(trigger.everyMs)}${describeBackoff(trigger.backoffMs)} until ${describeWall(trigger.deadline, trigger.tz)}${zone(trigger.tz)}`;
    case "manual":
      return "manual";
  }
}

/** UTC goes by several names (a container says Etc/UTC, a config says UTC). */
const UTC_NAMES = new Set([
  "UTC",
  "Etc/UTC",
  "Etc/GMT",
  "GMT",
  "Etc/Universal",
  "Etc/Zulu",
  "Universal",
  "Zulu",
]);

function sameZone(a: string, b: string): boolean {
  return a === b || (UTC_NAMES.has(a) && UTC_NAMES.has(b));
}

/** Described expressions, reused: a list of routines repeats a few schedules many times. */
const cronWords = new Map<string, string>();

function describeCron(expression: string): string {
  let words = cronWords.get(expression);
  if (words === undefined) {
    if (cronWords.size >= 1_000) cronWords.clear();
    words = lowerFirst(cronstrue.toString(expression, { use24HourTimeFormat: true, verbose: false }));
    cronWords.set(expression, words);
  }
  return words;
}

/** cronstrue starts a sentence ("Every minute", "At 09:00"); in a table cell it is a phrase. */
function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Formatters by zone: building one costs more than formatting with it. */
const wallFormats = new Map<string, Intl.DateTimeFormat>();

/** "2026-12-09 09:00": the instant's wall-clock date and time in `tz`, 24-hour. */
function describeWall(instant: string, tz: string): string {
  let format = wallFormats.get(tz);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    wallFormats.set(tz, format);
  }
  const part: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const { type, value } of format.formatToParts(Date.parse(instant))) part[type] = value;
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
}

const UNITS: Array<[ms: number, singular: string, plural: string]> = [
  [86_400_000, "day", "days"],
  [3_600_000, "hour", "hours"],
  [60_000, "minute", "minutes"],
  [1000, "second", "seconds"],
];

function describeInterval(everyMs: number): string {
  for (const [size, singular, plural] of UNITS) {
    if (everyMs % size === 0) {
      const count = everyMs / size;
      return count === 1 ? `every ${singular}` : `every ${count} ${plural}`;
    }
  }
  return `every ${everyMs} ms`;
}

/** A watch's backoff (`domain/watch-cadence.ts`): ", backing off to 2 hours". */
function describeBackoff(backoffMs: number | undefined): string {
  return backoffMs === undefined ? "" : `, backing off to ${describeAmount(backoffMs)}`;
}

function describeAmount(amountMs: number): string {
  for (const [size, singular, plural] of UNITS) {
    if (amountMs % size === 0) return amountMs === size ? `1 ${singular}` : `${amountMs / size} ${plural}`;
  }
  return `${amountMs} ms`;
}

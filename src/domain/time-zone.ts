/** IANA time-zone names, validated by the runtime's ICU data (the same data croner uses). */
import { readlinkSync } from "node:fs";

export function isIanaTimeZone(name: string): boolean {
  if (name.length === 0) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

let systemZone: { tz: string | undefined; zone: string } | undefined;

/**
 * The zone of the machine applying the config; stored on the routine so every host agrees.
 * Asked once per process and again only when `TZ` changes: ICU's first answer costs ≈ 25 ms
 * (it loads its data), a tenth of `loopd ls` on 1,000 routines.
 */
export function systemTimeZone(): string {
  const tz = typeof process === "undefined" ? undefined : process.env.TZ;
  if (systemZone === undefined || systemZone.tz !== tz)
    systemZone = { tz, zone: utcWithoutIcu(tz) ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC" };
  return systemZone.zone;
}

/**
 * The names ICU answers "UTC" for (checked against ICU in time-zone.test.ts). Servers and
 * containers mostly run in UTC; other zones go to ICU, which canonicalises them (Asia/Kolkata
 * → Asia/Calcutta, US/Pacific → America/Los_Angeles, CET → Europe/Brussels) in ways a file
 * name does not tell.
 */
export const ICU_UTC_NAMES: readonly string[] = [
  "UTC",
  "Etc/UTC",
  "Etc/GMT",
  "GMT",
  "Etc/Universal",
  "Universal",
  "Etc/Zulu",
  "Zulu",
];

/** "UTC" when `TZ` (or, unset, the /etc/localtime link) names UTC, so ICU need not load. */
function utcWithoutIcu(tz: string | undefined): "UTC" | undefined {
  let name = tz;
  if (name === undefined) {
    try {
      // /usr/share/zoneinfo/Etc/UTC (Linux), /var/db/timezone/zoneinfo/UTC (macOS).
      name = readlinkSync("/etc/localtime").split("/zoneinfo/")[1];
    } catch {
      return undefined;
    }
  }
  return name !== undefined && ICU_UTC_NAMES.includes(name) ? "UTC" : undefined;
}

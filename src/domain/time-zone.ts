/** IANA time-zone names, validated by the runtime's ICU data (the same data croner uses). */

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
 * Asked once per process (ICU's lookup is slow enough to show in `loopd ls` on 1,000 routines)
 * and again only when `TZ` changes.
 */
export function systemTimeZone(): string {
  const tz = typeof process === "undefined" ? undefined : process.env.TZ;
  if (systemZone === undefined || systemZone.tz !== tz)
    systemZone = { tz, zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" };
  return systemZone.zone;
}

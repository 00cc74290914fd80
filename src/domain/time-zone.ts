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

/** The zone of the machine applying the config; stored on the routine so every host agrees. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

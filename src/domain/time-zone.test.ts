import { execFileSync } from "node:child_process";
import { readlinkSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ICU_UTC_NAMES, systemTimeZone } from "./time-zone.js";

/** What ICU itself answers for the machine's zone under `TZ=tz` (a fresh process: ICU reads TZ once). */
function icuZone(tz: string | undefined): string {
  const env = { ...process.env };
  if (tz === undefined) delete env.TZ;
  else env.TZ = tz;
  return execFileSync(
    process.execPath,
    ["-e", "process.stdout.write(Intl.DateTimeFormat().resolvedOptions().timeZone)"],
    { env, encoding: "utf8" },
  );
}

describe("systemTimeZone", () => {
  const saved = process.env.TZ;
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it("answers UTC without ICU exactly for the names ICU answers UTC for", () => {
    for (const name of ICU_UTC_NAMES) {
      expect(icuZone(name), name).toBe("UTC");
      process.env.TZ = name;
      expect(systemTimeZone(), name).toBe("UTC");
    }
  });

  it("leaves other zones to ICU, which canonicalises their names", () => {
    for (const name of ["Europe/Berlin", "Asia/Kolkata", "US/Pacific", "Etc/GMT+5"]) {
      process.env.TZ = name;
      expect(systemTimeZone(), name).toBe(icuZone(name));
    }
  });

  it("reads the machine's zone like ICU when TZ is unset", () => {
    delete process.env.TZ;
    let link: string | undefined;
    try {
      link = readlinkSync("/etc/localtime");
    } catch {
      link = undefined;
    }
    expect(systemTimeZone(), `/etc/localtime → ${link}`).toBe(icuZone(undefined));
  });
});

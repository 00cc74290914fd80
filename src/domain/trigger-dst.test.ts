/**
 * Cron across time zones and DST: a seeded fuzz (10,000 steps over 12 zones) checks that
 * fires strictly increase, each fire matches its expression in wall-clock time, and no
 * wall-clock time fires twice; plus the 02:30 Europe/Berlin case on both 2027 transitions.
 */
import { Temporal } from "temporal-polyfill";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/helpers/prng.js";
import { dueAfter, type TriggerSpec } from "./trigger.js";

const ZONES = [
  "Europe/Berlin",
  "Europe/London",
  "America/New_York",
  "America/Los_Angeles",
  "America/St_Johns",
  "America/Sao_Paulo",
  "Australia/Sydney",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "UTC",
];

function field(random: () => number, min: number, max: number, allowWild = true): string {
  const pick = () => min + Math.floor(random() * (max - min + 1));
  const kind = Math.floor(random() * (allowWild ? 5 : 4));
  switch (kind) {
    case 0:
      return String(pick());
    case 1: {
      const [a, b] = [pick(), pick()].sort((x, y) => x - y);
      return a === b ? String(a) : `${a},${b}`;
    }
    case 2: {
      const [a, b] = [pick(), pick()].sort((x, y) => x - y);
      return `${a}-${b}`;
    }
    case 3:
      return `*/${1 + Math.floor(random() * Math.min(15, max))}`;
    default:
      return "*";
  }
}

/** Values a field allows (for the subset of syntax the generator produces). */
function allowed(spec: string, min: number, max: number): Set<number> {
  const values = new Set<number>();
  for (const part of spec.split(",")) {
    const [range, step] = part.split("/") as [string, string | undefined];
    const [from, to] =
      range === "*"
        ? [min, max]
        : range.includes("-")
          ? range.split("-").map(Number)
          : [Number(range), Number(range)];
    for (let v = from!; v <= (step && range !== "*" ? max : to!); v += Number(step ?? 1))
      if (v <= to! || step) values.add(v);
  }
  return values;
}

function randomExpression(random: () => number): string {
  const withSeconds = random() < 0.2;
  const minute = field(random, 0, 59);
  const hour = field(random, 0, 23);
  // Restrict day-of-month or day-of-week, not both (cron ORs them, which the checker ignores).
  const dom = random() < 0.3 ? field(random, 1, 28) : "*";
  const dow = dom === "*" && random() < 0.3 ? field(random, 0, 6, false) : "*";
  const month = random() < 0.2 ? field(random, 1, 12) : "*";
  return `${withSeconds ? `${field(random, 0, 59)} ` : ""}${minute} ${hour} ${dom} ${month} ${dow}`;
}

function matches(expression: string, wall: Temporal.PlainDateTime): boolean {
  const parts = expression.split(" ");
  const [second, minute, hour, dom, month, dow] = parts.length === 6 ? parts : ["0", ...parts];
  return (
    allowed(second!, 0, 59).has(wall.second) &&
    allowed(minute!, 0, 59).has(wall.minute) &&
    allowed(hour!, 0, 23).has(wall.hour) &&
    allowed(dom!, 1, 31).has(wall.day) &&
    allowed(month!, 1, 12).has(wall.month) &&
    allowed(dow!, 0, 6).has(wall.dayOfWeek % 7)
  );
}

describe("cron due times across DST (seeded fuzz)", () => {
  it("10,000 steps over 12 zones: increasing, matching, never the same wall time twice", () => {
    const random = mulberry32(20261128);
    let steps = 0;
    const perZone = Math.ceil(10_000 / ZONES.length);
    for (const tz of ZONES) {
      let done = 0;
      while (done < perZone) {
        const expression = randomExpression(random);
        const trigger: TriggerSpec = { kind: "cron", cron: expression, tz };
        // Start somewhere in 2026–2028, so both DST transitions of each year are crossed.
        let previous = Date.parse("2026-01-01T00:00:00Z") + Math.floor(random() * 3 * 365 * 86_400_000);
        let previousWall: Temporal.PlainDateTime | undefined;
        for (let i = 0; i < 50 && done < perZone; i++, done++, steps++) {
          const next = dueAfter(trigger, previous);
          if (next === null) break;
          const wall = Temporal.Instant.fromEpochMilliseconds(next).toZonedDateTimeISO(tz).toPlainDateTime();
          const context = `${expression} in ${tz} after ${new Date(previous).toISOString()}`;
          expect(next, context).toBeGreaterThan(previous);
          expect(matches(expression, wall), `${context}: ${wall.toString()} does not match`).toBe(true);
          if (previousWall)
            expect(Temporal.PlainDateTime.compare(wall, previousWall), `${context}: repeated wall time`).toBe(
              1,
            );
          previous = next;
          previousWall = wall;
        }
      }
    }
    expect(steps).toBeGreaterThanOrEqual(10_000);
  });
});

describe("02:30 Europe/Berlin across the 2027 transitions", () => {
  const trigger: TriggerSpec = { kind: "cron", cron: "30 2 * * *", tz: "Europe/Berlin" };
  const fires = (fromIso: string, count: number) => {
    const out: string[] = [];
    let at = Date.parse(fromIso);
    for (let i = 0; i < count; i++) {
      at = dueAfter(trigger, at)!;
      out.push(new Date(at).toISOString());
    }
    return out;
  };

  it("skips the day 02:30 does not exist (28 March: 02:00 → 03:00)", () => {
    expect(fires("2027-03-26T00:00:00Z", 3)).toEqual([
      "2027-03-26T01:30:00.000Z",
      "2027-03-27T01:30:00.000Z",
      "2027-03-29T00:30:00.000Z",
    ]);
  });

  it("fires once the day 02:30 occurs twice (31 October: 03:00 → 02:00)", () => {
    expect(fires("2027-10-30T00:00:00Z", 3)).toEqual([
      "2027-10-30T00:30:00.000Z",
      "2027-10-31T00:30:00.000Z",
      "2027-11-01T01:30:00.000Z",
    ]);
  });

  it("runs an interval job through the repeated hour only once", () => {
    const quarter: TriggerSpec = { kind: "cron", cron: "*/30 * * * *", tz: "Europe/Berlin" };
    const out: string[] = [];
    let at = Date.parse("2027-10-30T23:45:00Z"); // 01:45 CEST
    for (let i = 0; i < 5; i++) {
      at = dueAfter(quarter, at)!;
      const wall = Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO("Europe/Berlin");
      out.push(`${wall.toPlainTime().toString({ smallestUnit: "minute" })}${wall.offset}`);
    }
    expect(out).toEqual(["02:00+02:00", "02:30+02:00", "03:00+01:00", "03:30+01:00", "04:00+01:00"]);
  });
});

/**
 * Budget caps, pure: which caps apply to a run (the routine's `budget:` and the config-wide
 * `budgets:`) and the window of ledger time each cap counts. The store enforces them by
 * reserving before a run and settling after (src/store/sql/reserve-budget.ts). Days and
 * months are UTC, so every worker, whatever its zone, agrees on when a budget resets.
 */

export type CapScope = "run" | "routine-day" | "routine-month" | "global-day" | "global-month";

export interface Cap {
  scope: CapScope;
  limitUsd: number;
}

/** A routine's `budget:` section (USD amounts). */
export interface RoutineBudget {
  perRun?: number;
  perDay?: number;
  perMonth?: number;
}

/** The config-wide `budgets:` section (USD amounts). */
export interface GlobalBudgets {
  perRun?: number;
  daily?: number;
  monthly?: number;
}

/** A half-open interval of epoch milliseconds: `from <= at < to`. */
export interface TimeWindow {
  from: number;
  to: number;
}

/**
 * Amounts are sums of floating-point dollars (5 × 0.1 is 0.5000000000000001), so a run that
 * lands exactly on its cap must not be refused for a rounding error: a millionth of a cent.
 */
const USD_EPSILON = 1e-8;

const DAY_MS = 86_400_000;

/**
 * The caps a run of this routine must fit. Both `perRun` settings are limits for one run, so
 * the tighter one is the only one that matters; every other setting is a cap of its own.
 */
export function applicableCaps(routine: RoutineBudget | undefined, global: GlobalBudgets | undefined): Cap[] {
  const caps: Cap[] = [];
  const perRun = [routine?.perRun, global?.perRun].filter((limit) => limit !== undefined);
  if (perRun.length > 0) caps.push({ scope: "run", limitUsd: Math.min(...perRun) });
  if (routine?.perDay !== undefined) caps.push({ scope: "routine-day", limitUsd: routine.perDay });
  if (routine?.perMonth !== undefined) caps.push({ scope: "routine-month", limitUsd: routine.perMonth });
  if (global?.daily !== undefined) caps.push({ scope: "global-day", limitUsd: global.daily });
  if (global?.monthly !== undefined) caps.push({ scope: "global-month", limitUsd: global.monthly });
  return caps;
}

/** Whether a cap counts only its own routine's spend (otherwise: every routine's). */
export function isRoutineScope(scope: CapScope): boolean {
  return scope === "routine-day" || scope === "routine-month";
}

/** The ledger window a cap counts at `now`; null for the per-run cap, which has no history. */
export function capWindow(scope: CapScope, now: number): TimeWindow | null {
  switch (scope) {
    case "run":
      return null;
    case "routine-day":
    case "global-day":
      return utcDayWindow(now);
    case "routine-month":
    case "global-month":
      return utcMonthWindow(now);
  }
}

/** The UTC calendar day containing `at`. */
export function utcDayWindow(at: number): TimeWindow {
  const from = Math.floor(at / DAY_MS) * DAY_MS;
  return { from, to: from + DAY_MS };
}

/** The UTC calendar month containing `at` (Date.UTC rolls month 12 over into January). */
export function utcMonthWindow(at: number): TimeWindow {
  const date = new Date(at);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return { from: Date.UTC(year, month, 1), to: Date.UTC(year, month + 1, 1) };
}

/** `YYYY-MM-DD` of `at` in UTC: the ledger's `day` column. */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** Whether `totalUsd` stays within `limitUsd`, forgiving float rounding. */
export function withinCap(totalUsd: number, limitUsd: number): boolean {
  return totalUsd <= limitUsd + USD_EPSILON;
}

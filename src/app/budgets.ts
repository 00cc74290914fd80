/**
 * Where each USD cap stands right now: the config-wide `budgets.daily` / `monthly` and every
 * routine's `budget.perDay` / `perMonth`, with what the ledger holds for the current UTC day
 * or month — the dashboard's budget bars. Per-run caps have no running total and are left out.
 */
import type { z } from "zod";
import { utcDayWindow, utcMonthWindow } from "../domain/budget.js";
import type { ConfigSettings } from "../domain/settings.js";
import { spentUsd } from "../store/ledger.js";
import { listRoutines } from "../store/routines.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import type { BudgetLineSchema } from "./view-schemas.js";

export type BudgetLine = z.infer<typeof BudgetLineSchema>;

export async function budgetStatus(store: Store, now: number): Promise<{ budgets: BudgetLine[] }> {
  const settings = (await getSetting<ConfigSettings>(store.db, CONFIG_SETTING)) ?? {};
  const day = utcDayWindow(now);
  const month = utcMonthWindow(now);
  const lines: BudgetLine[] = [];
  const add = async (
    routine: { name: string; id: number } | null,
    period: "day" | "month",
    limit: number,
  ) => {
    const window = period === "day" ? day : month;
    const spent = await spentUsd(store.db, { ...window, ...(routine ? { routineId: routine.id } : {}) });
    lines.push({
      routine: routine?.name ?? null,
      period,
      limitUsd: limit,
      spentUsd: spent,
      resetsAt: new Date(window.to).toISOString(),
    });
  };
  if (settings.budgets?.daily !== undefined) await add(null, "day", settings.budgets.daily);
  if (settings.budgets?.monthly !== undefined) await add(null, "month", settings.budgets.monthly);
  for (const routine of await listRoutines(store.db)) {
    const budget = routine.spec.budget;
    if (budget?.perDay !== undefined) await add(routine, "day", budget.perDay);
    if (budget?.perMonth !== undefined) await add(routine, "month", budget.perMonth);
  }
  return { budgets: lines };
}

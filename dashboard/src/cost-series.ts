/**
 * Spend per day split by routine, built from `/costs?by=day&routine=…` per routine: the
 * API groups by one key at a time. When the server ignores the routine filter (the view's
 * `routine` comes back null) or a routine no longer exists, its spend stays in "other".
 */
import { api } from "./api.js";
import type { CostSeries } from "./components/cost-chart.js";
import type { CostsView } from "./types.js";

const MAX_SERIES = 6;

export interface CostOverview {
  byDay: CostsView;
  byRoutine: CostsView;
  byModel: CostsView;
  /** Stacked series (routines, then "other"); one "total" series when days cannot be split. */
  series: CostSeries[];
}

export async function loadCostOverview(since: string): Promise<CostOverview> {
  const [byDay, byRoutine, byModel] = await Promise.all([
    api.costs("day", { since }),
    api.costs("routine", { since }),
    api.costs("model", { since }),
  ]);
  const total: CostSeries = { name: "total", byDay: toDayMap(byDay) };
  const top = byRoutine.rows.slice(0, MAX_SERIES).filter((row) => row.costUsd > 0);
  if (byRoutine.rows.length < 2) return { byDay, byRoutine, byModel, series: [total] };

  const perRoutine = await Promise.all(
    top.map((row) => api.costs("day", { since, routine: row.key }).catch(() => null)),
  );
  const series: CostSeries[] = [];
  perRoutine.forEach((view, index) => {
    if (view && view.routine !== null) series.push({ name: top[index]!.key, byDay: toDayMap(view) });
  });
  if (series.length === 0) return { byDay, byRoutine, byModel, series: [total] };

  const other = new Map<string, number>();
  for (const [day, usd] of total.byDay) {
    const rest = usd - series.reduce((sum, one) => sum + (one.byDay.get(day) ?? 0), 0);
    if (rest > 1e-9) other.set(day, rest);
  }
  if (other.size > 0) series.push({ name: "other", byDay: other });
  return { byDay, byRoutine, byModel, series };
}

function toDayMap(view: CostsView): Map<string, number> {
  return new Map(view.rows.map((row) => [row.key, row.costUsd]));
}

/** `loopd costs`: what routines, models, tiers and days cost, from the ledger. */
import type { z } from "zod";
import type { CostReportKey } from "../domain/cost-report.js";
import { costReport } from "../store/ledger.js";
import type { Store } from "../store/store.js";
import { requireRoutine } from "./routines.js";
import type { CostsViewSchema } from "./view-schemas.js";

export type CostsView = z.infer<typeof CostsViewSchema>;

export async function costs(
  store: Store,
  options: { by: CostReportKey; since: number; routine?: string },
): Promise<CostsView> {
  const routineId =
    options.routine === undefined ? undefined : (await requireRoutine(store, options.routine)).id;
  const rows = await costReport(store.db, {
    by: options.by,
    since: options.since,
    ...(routineId !== undefined ? { routineId } : {}),
  });
  const total = (
    await costReport(store.db, {
      by: "harness",
      since: options.since,
      ...(routineId !== undefined ? { routineId } : {}),
    })
  ).reduce(
    (sum, row) => ({
      // A run's rows may span harnesses only through escalation; counting per harness is close enough.
      runs: sum.runs + row.runs,
      costUsd: sum.costUsd + row.costUsd,
      tokensIn: sum.tokensIn + row.tokensIn,
      tokensOut: sum.tokensOut + row.tokensOut,
      tokensCached: sum.tokensCached + row.tokensCached,
    }),
    { runs: 0, costUsd: 0, tokensIn: 0, tokensOut: 0, tokensCached: 0 },
  );
  return {
    by: options.by,
    since: new Date(options.since).toISOString(),
    routine: options.routine ?? null,
    rows,
    total,
  };
}

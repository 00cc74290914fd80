/**
 * The JSON shapes the dashboard reads from `/api/v1`. Imported as types from the server
 * code so a changed view fails the dashboard's typecheck instead of rendering `undefined`.
 */
import type { BudgetLine } from "../../src/app/budgets.js";
import type { CheckView } from "../../src/app/checks.js";
import type { CostsView } from "../../src/app/costs.js";
import type { DeliveryView } from "../../src/app/deliveries.js";
import type { RoutineDetail as RoutineDetailBase } from "../../src/app/routines.js";
import type { RunEventView as RunEvent } from "../../src/app/run-event-view.js";
import type { RunDetail as RunDetailBase } from "../../src/app/runs.js";
import type { RoutineView, RunView } from "../../src/app/views.js";

export type { BudgetLine, CheckView, CostsView, DeliveryView, RoutineView, RunEvent, RunView };
export type CostRow = CostsView["rows"][number];
export type CheckResult = NonNullable<RunDetailBase["check"]>;
/** The API may leave the (possibly large) diff to `GET /runs/{id}/diff`. */
export type RunDetail = Omit<RunDetailBase, "diff"> & { diff?: string };

export interface Health {
  ok: boolean;
  version: string;
  store: string;
  workerId: string;
  activeRuns: number;
}

export type RoutineRow = RoutineView & { costTodayUsd: number };

/** `GET /routines/{name}`: the routine, its stored spec, a few recent runs, memory and watch state. */
export interface RoutineDetail extends RoutineDetailBase {
  memory: string | null;
  checks: CheckView | null;
}

export type CostKey = CostsView["by"];

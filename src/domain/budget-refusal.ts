/**
 * What a run refused by a budget says: the numbers the decision compared (four significant
 * figures, formatUsd) and, in the hint, the exact setting to raise — so a user can tell a
 * tight `budget.perDay` from an exhausted global `budgets.monthly` without reading the code.
 */
import type { CapScope, GlobalBudgets, RoutineBudget } from "./budget.js";
import { capWindow } from "./budget.js";
import { formatUsd } from "./money.js";

export interface BudgetRefusal {
  message: string;
  hint: string;
}

const CAP_NAME: Record<CapScope, string> = {
  run: "per-run budget",
  "routine-day": "routine's daily budget",
  "routine-month": "routine's monthly budget",
  "global-day": "global daily budget",
  "global-month": "global monthly budget",
};

/**
 * The setting behind a cap. The per-run cap is the tighter of the routine's and the global
 * `perRun`, so it names whichever one set it.
 */
export function capSetting(
  scope: CapScope,
  limitUsd: number,
  routine: RoutineBudget | undefined,
  global: GlobalBudgets | undefined,
): string {
  switch (scope) {
    case "run":
      return routine?.perRun === limitUsd || global?.perRun === undefined
        ? "budget.perRun"
        : "budgets.perRun";
    case "routine-day":
      return "budget.perDay";
    case "routine-month":
      return "budget.perMonth";
    case "global-day":
      return "budgets.daily";
    case "global-month":
      return "budgets.monthly";
  }
}

/** Where a cap's setting lives, for the hint. */
function settingPlace(setting: string, routine: string): string {
  return setting.startsWith("budgets.")
    ? `\`${setting}\` in loopd.yaml (it counts every routine)`
    : `\`${setting}\` of ${routine}`;
}

export interface ReservationRefused {
  scope: CapScope;
  limitUsd: number;
  spentUsd: number;
  heldUsd: number;
  estimateUsd: number;
  /** How the estimate was made (estimateAttempt's basis). */
  basis: string;
  routine: string;
  routineBudget: RoutineBudget | undefined;
  globalBudgets: GlobalBudgets | undefined;
  now: number;
}

/** A reservation one cap did not admit: spent + held + estimate went over its limit. */
export function reservationRefusal(refused: ReservationRefused): BudgetRefusal {
  const setting = capSetting(refused.scope, refused.limitUsd, refused.routineBudget, refused.globalBudgets);
  const needed = refused.spentUsd + refused.heldUsd + refused.estimateUsd;
  const window = capWindow(refused.scope, refused.now);
  const message =
    `not started: the ${CAP_NAME[refused.scope]} (${setting}) of ${formatUsd(refused.limitUsd)} has ` +
    `${formatUsd(refused.spentUsd)} spent and ${formatUsd(refused.heldUsd)} held by running runs; ` +
    `this run needs ~${formatUsd(refused.estimateUsd)} (${refused.basis})`;
  const wait = window ? `, wait for it to reset at ${new Date(window.to).toISOString()}` : "";
  const hint =
    `Raise ${settingPlace(setting, refused.routine)} to at least ${formatUsd(needed)}${wait}, ` +
    "or give the routine a cheaper `tier`; `loopd costs --by routine` shows where it went.";
  return { message, hint };
}

/**
 * The router found no tier whose expected cost fits what is left of the tightest cap
 * (`reason` is the router's own sentence, numbers included).
 */
export function routingRefusal(
  reason: string,
  left: { scope: CapScope; limitUsd: number } | null,
  routine: string,
  routineBudget: RoutineBudget | undefined,
  globalBudgets: GlobalBudgets | undefined,
): BudgetRefusal {
  const message = `not started: ${reason}`;
  if (left === null)
    return { message, hint: "Declare a cheaper tier under `models`, or route the routine to one." };
  const setting = capSetting(left.scope, left.limitUsd, routineBudget, globalBudgets);
  return {
    message,
    hint: `Raise ${settingPlace(setting, routine)}, or declare a cheaper tier under \`models\` and route ${routine} to it.`,
  };
}

export interface RequestRefused {
  scope: CapScope;
  limitUsd: number;
  spentUsd: number;
  heldUsd: number;
  routine: string;
  routineBudget: RoutineBudget | undefined;
  globalBudgets: GlobalBudgets | undefined;
  now: number;
}

/**
 * The gateway refused a model request mid-run: the cap had nothing left once spend and the
 * holds of requests and runs in flight were counted. The run stops here.
 */
export function requestRefusal(refused: RequestRefused): BudgetRefusal {
  const setting = capSetting(refused.scope, refused.limitUsd, refused.routineBudget, refused.globalBudgets);
  const spent =
    refused.scope === "run"
      ? `: this run has spent ${formatUsd(refused.spentUsd)}`
      : ` has ${formatUsd(refused.spentUsd)} spent`;
  const held =
    refused.heldUsd > 0 ? ` and ${formatUsd(refused.heldUsd)} held by model requests and runs in flight` : "";
  const message =
    `stopped before a model request: the ${CAP_NAME[refused.scope]} (${setting}) of ${formatUsd(refused.limitUsd)}` +
    `${spent}${held}; nothing is left for another request`;
  const window = capWindow(refused.scope, refused.now);
  const wait = window ? `, or wait for it to reset at ${new Date(window.to).toISOString()}` : "";
  const hint =
    `Raise ${settingPlace(setting, refused.routine)} above ${formatUsd(refused.spentUsd + refused.heldUsd)}${wait}; ` +
    "`loopd show-run` and `loopd costs --by routine` show where it went.";
  return { message, hint };
}

/** The routine spent faster than its spend-velocity alarm in the last minute. */
export function velocityRefusal(refused: {
  routine: string;
  limitUsd: number;
  spentUsd: number;
  routineSet: boolean;
}): BudgetRefusal {
  const setting = refused.routineSet ? "budget.usdPerMinute" : "budgets.usdPerMinute";
  return {
    message:
      `stopped: ${refused.routine} spent ${formatUsd(refused.spentUsd)} in the last minute, over its ` +
      `${formatUsd(refused.limitUsd)}/min spend-velocity alarm (${setting}); a runaway loop? The routine is paused`,
    hint:
      `Look at its last runs (\`loopd runs ${refused.routine}\`); if this rate is expected, raise ` +
      `${settingPlace(setting, refused.routine)}, then \`loopd resume ${refused.routine}\`.`,
  };
}

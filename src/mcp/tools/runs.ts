/** Tools on runs: list_runs, get_run (with the tail of its log), run_now. */

import { z } from "zod";
import type { RunEventView } from "../../app/run-event-view.js";
import { RunDetailSchema, RunViewSchema } from "../../app/view-schemas.js";
import { RUN_STATUSES } from "../../domain/run-status.js";
import { defineTool } from "../tool.js";

/** Enough of a log to see how a run ended without flooding the caller's context. */
export const LOG_TAIL_LINES = 40;
const MAX_LINE = 300;

const listRuns = defineTool({
  name: "list_runs",
  title: "List runs",
  description:
    "Recent runs, newest first: status, summary, cost, error. Filter by routine and/or status (e.g. failed). Free; read-only.",
  readOnly: true,
  input: z.object({
    routine: z.string().optional().describe("Only this routine's runs."),
    status: z.enum(RUN_STATUSES).optional(),
    limit: z.int().min(1).max(100).optional().describe("How many (default 20)."),
  }),
  output: z.object({ runs: z.array(RunViewSchema) }),
  async handler(args, context) {
    return { runs: await context.backend.listRuns({ ...args, limit: args.limit ?? 20 }) };
  },
});

const getRun = defineTool({
  name: "get_run",
  title: "Show one run",
  description: `One run: outcome, summary, error, cost and tokens, changed files, the agent's final message, and the last ${LOG_TAIL_LINES} lines of its log. Use it to see why a loop failed. Free; read-only.`,
  readOnly: true,
  input: z.object({ id: z.int().positive().describe("Run id (from list_runs or run_now).") }),
  output: RunDetailSchema.extend({ logTail: z.array(z.string()) }),
  async handler(args, context) {
    const { run, events } = await context.backend.showRun(args.id);
    return { ...run, logTail: logTail(events) };
  },
});

const runNow = defineTool({
  name: "run_now",
  title: "Run a routine now",
  description:
    "Queue one run of a routine right away, outside its schedule. An agent routine spends model tokens (within its budget); a command routine is free. Returns the run id: follow it with get_run. A routine paused for auth (its login failed) is refused with LOOPD_ROUTINE_PAUSED_AUTH and the fix; `force: true` runs it anyway.",
  input: z.object({
    name: z.string().describe("Routine name."),
    text: z
      .string()
      .optional()
      .describe("Text handed to the run (LOOPD_INPUT; appended to an agent's prompt)."),
    force: z
      .boolean()
      .optional()
      .describe("Run a routine paused for auth anyway (only once its login is fixed, or to check it)."),
  }),
  output: z.object({ runId: z.int(), routine: z.string(), next: z.string() }),
  async handler(args, context) {
    const { runId, daemonUp } = await context.backend.fireRoutine(args.name, args.text, args.force);
    return {
      runId,
      routine: args.name,
      next: daemonUp
        ? `Queued as run ${runId}; call get_run with id ${runId} to see how it went.`
        : `Queued as run ${runId}. No loopd daemon is running to execute it: ask the user to start \`loopd serve\`.`,
    };
  },
});

export const runTools = [listRuns, getRun, runNow];

/** Output lines as they were printed, one short line per other event, the last few only. */
export function logTail(events: readonly RunEventView[], lines = LOG_TAIL_LINES): string[] {
  const all: string[] = [];
  for (const event of events) {
    const text = typeof event.data === "string" ? event.data : JSON.stringify(event.data);
    if (event.type === "log") all.push(...text.split("\n"));
    else if (event.type !== "usage") all.push(`[${event.type}] ${text}`);
  }
  return all.slice(-lines).map((line) => (line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line));
}

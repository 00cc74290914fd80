/** get_costs: what runs cost, from loopd's ledger; list_flaky_tests: ci-health's test classes. */
import { z } from "zod";
import { CostsViewSchema, FlakyTestViewSchema } from "../../app/view-schemas.js";
import { COST_REPORT_KEYS } from "../../domain/cost-report.js";
import { DEFAULT_SINCE } from "../../domain/since.js";
import { defineTool } from "../tool.js";

const getCosts = defineTool({
  name: "get_costs",
  title: "What runs cost",
  description:
    "Spend from loopd's ledger (USD and tokens), grouped by routine, model, tier, day or harness, over a window back from now. Use it before creating or after running agent loops to keep an eye on spend. Free; read-only.",
  readOnly: true,
  input: z.object({
    by: z.enum(COST_REPORT_KEYS).optional().describe("Grouping (default routine)."),
    since: z.string().optional().describe('How far back: "24h", "7d" (default), "30d".'),
    routine: z.string().optional().describe("Only this routine."),
  }),
  output: CostsViewSchema,
  async handler(args, context) {
    return context.backend.costs({
      by: args.by ?? "routine",
      since: args.since ?? DEFAULT_SINCE,
      ...(args.routine !== undefined ? { routine: args.routine } : {}),
    });
  },
});

const listFlakyTests = defineTool({
  name: "list_flaky_tests",
  title: "Flaky and broken tests",
  description:
    "The tests of ci-health routines (template ci-health), classified over their recent runs: broken (fails every time since a commit), flaky (failed and passed on the same commit, with its flake rate), new, recovered, passing — with the last failure message. Free; read-only.",
  readOnly: true,
  input: z.object({ routine: z.string().optional().describe("Only this routine's tests.") }),
  output: z.object({ tests: z.array(FlakyTestViewSchema) }),
  async handler(args, context) {
    const tests = await context.backend.flakyTests(
      args.routine !== undefined ? { routine: args.routine } : {},
    );
    return { tests };
  },
});

export const costTools = [getCosts, listFlakyTests];

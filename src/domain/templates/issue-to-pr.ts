/**
 * `issue-to-pr`: a labelled issue becomes a fix PR (`Fixes #N`), one per issue. Its params
 * are registered so configs validate and `loopd templates` documents them; the loop behind it
 * is not built yet (`ready: false`), so a routine cannot use it.
 */
import { z } from "zod";
import { envName } from "../config-values.js";
import type { RoutineTemplate } from "./template.js";

export const issueToPrParams = z.strictObject({
  repo: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: "the repository as owner/name, e.g. acme/shop" })
    .meta({ description: "The GitHub repository as owner/name." }),
  label: z
    .string()
    .min(1)
    .default("loopd")
    .meta({ description: "The issue label that asks for a fix (default loopd)." }),
  base: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Branch the fix starts from (default the repository's default branch)." }),
  remote: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Clone URL override (a local bare repo in tests)." }),
  tokenEnv: envName
    .optional()
    .meta({ description: "Environment variable of the daemon holding the GitHub token." }),
});

export const issueToPr: RoutineTemplate = {
  name: "issue-to-pr",
  description: "Turn a labelled issue into a fix PR that says Fixes #N (not built yet).",
  ready: false,
  params: issueToPrParams as unknown as RoutineTemplate["params"],
  expand(params) {
    return {
      description: `Fix ${String(params.repo)} issues labelled ${String(params.label)}`,
      prompt:
        "Reproduce the issue below with a failing test where you can, then fix it. Explain the change in your final message.",
      events: [{ github: "issues.labeled", label: params.label, repo: params.repo }],
      budget: { perRun: 3, perDay: 15 },
      loop: { kind: "issue-to-pr", ...params },
    };
  },
  example: `name: issue-to-pr
template: issue-to-pr
params:
  repo: <owner>/<name>   # fill in: the GitHub repository
  label: loopd       # the label that asks for a fix
verify:
  command: npm test
`,
};

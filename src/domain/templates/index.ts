/**
 * The registry of built-in templates and the expansion of a routine that uses one:
 * `template: <name>` + `params: {…}` becomes the template's plain routine with the routine's
 * own fields on top. Config validation (config-routine.ts) and the spec (routine-spec.ts)
 * both expand through here, so a routine is checked and stored as the plain routine it is.
 */
import { z } from "zod";
import { ciHealth, ciHealthParams } from "./ci-health.js";
import { feedbackTriage, feedbackTriageParams } from "./feedback-triage.js";
import { issueToPr, issueToPrParams } from "./issue-to-pr.js";
import { prBabysit, prBabysitParams } from "./pr-babysit.js";
import type { RoutineTemplate } from "./template.js";

export type { LoopSpec, RoutineTemplate } from "./template.js";

export const TEMPLATES: readonly RoutineTemplate[] = [prBabysit, issueToPr, feedbackTriage, ciHealth];

export function findTemplate(name: string): RoutineTemplate | undefined {
  return TEMPLATES.find((template) => template.name === name);
}

/** A routine's `loop`: the built-in tick it runs, with that loop's params. Only built loops are accepted. */
export const loopSchema = z
  .discriminatedUnion("kind", [
    prBabysitParams.extend({ kind: z.literal("pr-babysit") }),
    issueToPrParams.extend({ kind: z.literal("issue-to-pr") }),
    feedbackTriageParams.omit({ every: true }).extend({ kind: z.literal("feedback-triage") }),
    ciHealthParams.extend({ kind: z.literal("ci-health") }),
  ])
  .meta({
    description:
      "A built-in loop whose deterministic tick runs first each run, asking an agent only when there is work for one (`template: pr-babysit` or `issue-to-pr` sets it).",
  });

export type TemplateIssue = { path: Array<string | number>; message: string };

/** Problems with a routine's `template` and `params`, with paths relative to the routine. */
export function templateIssues(template: string, params: unknown): TemplateIssue[] {
  const found = findTemplate(template);
  if (!found) {
    return [
      {
        path: ["template"],
        message: `unknown template "${template}"; built in: ${TEMPLATES.filter((t) => t.ready)
          .map((t) => t.name)
          .join(", ")}`,
      },
    ];
  }
  if (!found.ready) {
    return [{ path: ["template"], message: `template "${template}" is not built yet in this loopd` }];
  }
  const result = found.params.safeParse(params ?? {});
  if (result.success) return [];
  return result.error.issues.map((issue) => ({
    path: ["params", ...issue.path.filter((part): part is string | number => typeof part !== "symbol")],
    message:
      issue.code === "unrecognized_keys"
        ? `unknown param${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `"${key}"`).join(", ")} of template ${template}`
        : issue.message.replace(/^Invalid input: /, ""),
  }));
}

/**
 * The plain routine a templated routine stands for: the template's expansion, then the
 * routine's own fields over it. A routine without a template, or with invalid params
 * (validation reports those), comes back as it is.
 */
export function expandRoutine<T extends { template?: string | undefined; params?: unknown }>(
  routine: T,
): Omit<T, "template" | "params"> {
  if (routine.template === undefined) return routine;
  const template = findTemplate(routine.template);
  const params = template?.params.safeParse(routine.params ?? {});
  const { template: _template, params: _params, ...own } = routine;
  if (!template?.ready || !params?.success) return own;
  const expanded = template.expand(params.data);
  // A routine's own schedule replaces the template's whole: `cron` over a template's `every`.
  if (TRIGGER_KEYS.some((key) => key in own)) for (const key of TRIGGER_KEYS) delete expanded[key];
  return { ...expanded, ...own } as Omit<T, "template" | "params">;
}

const TRIGGER_KEYS = ["every", "cron", "at", "by", "jitter"] as const;

/** A template's params as documentation: name, whether required, default, description. */
export interface TemplateParamDoc {
  name: string;
  required: boolean;
  default?: unknown;
  type: string;
  description: string;
}

export function templateParamDocs(template: RoutineTemplate): TemplateParamDoc[] {
  const schema = z.toJSONSchema(template.params, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, { description?: string; default?: unknown; type?: string; enum?: unknown[] }>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    required: schema.required?.includes(name) ?? false,
    ...(property.default !== undefined ? { default: property.default } : {}),
    type: property.enum ? property.enum.join(" | ") : (property.type ?? "any"),
    description: property.description ?? "",
  }));
}

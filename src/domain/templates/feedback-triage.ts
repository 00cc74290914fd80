/**
 * `feedback-triage`: every 30 minutes, the feedback that came in (GitHub issues, a JSONL/CSV
 * file or folder, an HTTP endpoint returning JSON) is deduplicated, embedded (TF-IDF offline,
 * or an embedding model when `embedding` names one) and clustered; clusters keep their id
 * across ticks, so the digest (src/loops/feedback-triage/) can say what is new, growing,
 * shrinking or resolved. A tick with nothing new costs no model request and sends nothing.
 */
import { z } from "zod";
import { envName, intervalSchema } from "../config-values.js";
import type { RoutineTemplate } from "./template.js";

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
/** A dotted path into a JSON record: `body`, `fields.text`, `items.0.id`. */
const PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
const path = (what: string) =>
  z.string().regex(PATH, { error: "a dotted path like body or fields.text" }).meta({ description: what });

const githubSource = z.strictObject({
  github: z
    .string()
    .regex(REPO, { error: "the repository as owner/name, e.g. acme/shop" })
    .meta({ description: "Open issues of this GitHub repository (owner/name) are feedback." }),
  label: z.string().min(1).optional().meta({ description: "Only issues carrying this label." }),
  discussions: z.boolean().default(false).meta({
    description: "Open discussions are feedback too (GitHub's GraphQL API; default false).",
  }),
  tokenEnv: envName.optional().meta({
    description:
      "Environment variable holding the GitHub token (default GITHUB_TOKEN, GH_TOKEN, `gh auth token`).",
  }),
});

const fileSource = z.strictObject({
  file: z.string().min(1).meta({
    description:
      "A .jsonl, .json or .csv file, or a folder of them (relative to the routine's repo); one item per line or row.",
  }),
  text: path("Field (JSON: dotted path; CSV: column) holding the text (default text).").default("text"),
  id: path("Field holding a stable id (default id; without one, the text's hash).").default("id"),
  title: path("Field holding a title (optional).").optional(),
  url: path("Field holding a link (optional).").optional(),
});

const httpSource = z.strictObject({
  http: z.url({ error: "expected a URL" }).meta({ description: "GET this URL; it answers JSON." }),
  items: path("Dotted path to the array of records (default: the answer is the array).").optional(),
  text: path("Dotted path, in each record, to the text (default text).").default("text"),
  id: path("Dotted path, in each record, to a stable id (default id).").default("id"),
  title: path("Dotted path to a title (optional).").optional(),
  url: path("Dotted path to a link (optional).").optional(),
  tokenEnv: envName.optional().meta({
    description: "Environment variable whose value is sent as `Authorization: Bearer <it>`.",
  }),
});

export const feedbackSourceSchema = z.union([githubSource, fileSource, httpSource]);
export type FeedbackSource = z.output<typeof feedbackSourceSchema>;

export const feedbackTriageParams = z.strictObject({
  sources: z
    .array(feedbackSourceSchema)
    .min(1, { error: "at least one source: { github: owner/name }, { file: path } or { http: url }" })
    .meta({
      description: "Where feedback comes from: { github: owner/name }, { file: path }, { http: url, … }.",
    }),
  every: intervalSchema.default("30m").meta({ description: "How often to triage (default 30m)." }),
  minCluster: z.int().min(2).max(1000).default(3).meta({
    description: "Items a cluster needs to be reported (default 3); smaller groups stay unclustered.",
  }),
  similarity: z.number().min(0.05).max(0.95).default(0.3).meta({
    description:
      "Cosine similarity an item needs to join a cluster (default 0.3, TF-IDF); higher splits more.",
  }),
  embedding: z
    .strictObject({
      model: z.string().min(1).meta({ description: "Embedding model, e.g. text-embedding-3-small." }),
      baseUrl: z.url().optional().meta({ description: "OpenAI-compatible base URL (default OpenAI's)." }),
      apiKeyEnv: envName.default("OPENAI_API_KEY").meta({ description: "Variable holding the API key." }),
    })
    .optional()
    .meta({ description: "Embed with this model (OpenAI's embeddings API) instead of offline TF-IDF." }),
  comment: z.boolean().default(false).meta({
    description: "Comment once on each GitHub issue with its cluster and similar issues (default false).",
  }),
  label: z.boolean().default(false).meta({
    description:
      "Label each clustered GitHub issue feedback:<cluster id> (default false; never closes issues).",
  }),
});

export type FeedbackTriageParams = z.output<typeof feedbackTriageParams>;

export const FEEDBACK_TRIAGE_PROMPT = `Feedback triage: loopd groups incoming feedback into themes and reports what changed. This routine's work is done by loopd's built-in loop; no agent edits code.`;

export const feedbackTriage: RoutineTemplate = {
  name: "feedback-triage",
  description:
    "Cluster incoming feedback (issues, files, an HTTP feed) into themes; digest what is new or growing.",
  ready: true,
  params: feedbackTriageParams as unknown as RoutineTemplate["params"],
  expand(params) {
    const { every, ...loop } = params;
    return {
      description: "Triage feedback into themes",
      prompt: FEEDBACK_TRIAGE_PROMPT,
      every,
      timeout: "10m",
      budget: { perRun: 0.5, perDay: 2 },
      loop: { kind: "feedback-triage", ...loop },
    };
  },
  example: `name: feedback-triage
template: feedback-triage
params:
  sources:
    - github: <owner>/<name>     # fill in: open issues are feedback
    # - file: feedback/          # .jsonl / .json / .csv files (text, id, url fields)
    # - http: https://example.com/api/feedback
    #   items: data.items        # dotted path to the array
    #   text: body
    #   id: id
  every: 30m                     # how often to triage
  minCluster: 3                  # items a theme needs to be reported
  label: false                   # label issues feedback:<cluster id>
  comment: false                 # comment on issues with their cluster
  # embedding: { model: text-embedding-3-small }   # default: offline TF-IDF
# The digest goes to notify rules asking for \`report\` (a channel from \`channels:\`):
# notify: { to: team, on: [report, failure] }
`,
};

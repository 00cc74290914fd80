/**
 * `POST /hooks/github`: a GitHub webhook delivery, verified with `X-Hub-Signature-256` and the
 * secret from GITHUB_WEBHOOK_SECRET (or `github.webhookSecretEnv`), deduplicated on
 * `X-GitHub-Delivery`, fires every routine whose `events` filter matches — with a summary of
 * the payload as the run's input, so the agent knows which repo, branch and check failed.
 */
import { Webhooks } from "@octokit/webhooks";
import { LoopdError } from "../domain/errors.js";
import { globToRegExp } from "../domain/glob.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { ConfigSettings } from "../domain/settings.js";
import { listRoutines } from "../store/routines.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { fireRoutine } from "./run-now.js";

export interface GithubDelivery {
  headers: Record<string, string>;
  body: string;
  now: number;
  env: NodeJS.ProcessEnv;
}

export async function receiveGithubHook(
  store: Store,
  delivery: GithubDelivery,
): Promise<{ event: string; fired: Array<{ routine: string; runId: number }> }> {
  const settings = (await getSetting<ConfigSettings>(store.db, CONFIG_SETTING)) ?? {};
  const secretEnv = settings.github?.webhookSecretEnv ?? "GITHUB_WEBHOOK_SECRET";
  const secret = delivery.env[secretEnv];
  if (!secret) {
    throw new LoopdError(
      "LOOPD_HOOK_UNAUTHORIZED",
      `no GitHub webhook secret: ${secretEnv} is not set for loopd`,
      {
        hint: `Export ${secretEnv} (the secret of the GitHub webhook) for \`loopd serve\`.`,
      },
    );
  }
  const signature = delivery.headers["x-hub-signature-256"] ?? "";
  if (!signature || !(await new Webhooks({ secret }).verify(delivery.body, signature))) {
    throw new LoopdError(
      "LOOPD_HOOK_UNAUTHORIZED",
      "X-Hub-Signature-256 missing or not valid for this secret",
    );
  }
  const id = delivery.headers["x-github-delivery"];
  if (!id) throw new LoopdError("LOOPD_USAGE", "X-GitHub-Delivery header missing");
  const payload = parsePayload(delivery.body);
  const name = delivery.headers["x-github-event"] ?? "";
  const event = typeof payload.action === "string" ? `${name}.${payload.action}` : name;

  const routines = (await listRoutines(store.db)).filter(
    (routine) =>
      routine.state === "active" &&
      (routine.spec.events ?? []).some((filter) => matches(filter, name, event, payload)),
  );
  return store.writeTransaction(async (db) => {
    const seen = await db
      .selectFrom("inbound_deliveries")
      .select("id")
      .where("source", "=", "github")
      .where("id", "=", id)
      .executeTakeFirst();
    if (seen) throw new LoopdError("LOOPD_HOOK_REPLAYED", `GitHub delivery ${id} was already received`);
    const fired: Array<{ routine: string; runId: number }> = [];
    for (const routine of routines) {
      const { runId } = await fireRoutine({ ...store, db }, routine.name, {
        input: summary(event, payload),
        now: delivery.now,
      });
      fired.push({ routine: routine.name, runId });
    }
    await db
      .insertInto("inbound_deliveries")
      .values({ source: "github", id, received_at: delivery.now, run_id: fired[0]?.runId ?? null })
      .execute();
    return { event, fired };
  });
}

/** A signed body is still input: anything but a JSON object is a 400, not a crash. */
function parsePayload(body: string): Record<string, unknown> {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    throw malformed("is not JSON");
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw malformed(
      `is ${payload === null ? "null" : Array.isArray(payload) ? "an array" : `a ${typeof payload}`}, not a JSON object`,
    );
  }
  return payload as Record<string, unknown>;
}

function malformed(why: string): LoopdError {
  return new LoopdError("LOOPD_HOOK_INVALID", `the GitHub delivery's body ${why}`, {
    hint: "Set the GitHub webhook's content type to application/json.",
  });
}

type EventFilter = NonNullable<RoutineSpec["events"]>[number];

function matches(
  filter: EventFilter,
  name: string,
  event: string,
  payload: Record<string, unknown>,
): boolean {
  if (filter.github !== name && filter.github !== event) return false;
  const facts = factsOf(payload);
  if (filter.conclusion !== undefined && facts.conclusion !== filter.conclusion) return false;
  if (filter.repo !== undefined && !(facts.repo && globToRegExp(filter.repo).test(facts.repo))) return false;
  if (filter.branch !== undefined && facts.branch !== filter.branch) return false;
  if (filter.label !== undefined && !facts.labels.includes(filter.label)) return false;
  return true;
}

interface Facts {
  repo: string | null;
  conclusion: string | null;
  branch: string | null;
  labels: string[];
  url: string | null;
  title: string | null;
}

/** The few fields routines filter on and agents need, from whichever object the event carries. */
function factsOf(payload: Record<string, unknown>): Facts {
  const get = (key: string) =>
    payload[key] && typeof payload[key] === "object" ? (payload[key] as Record<string, unknown>) : null;
  const subject =
    get("check_suite") ??
    get("check_run") ??
    get("workflow_run") ??
    get("pull_request") ??
    get("issue") ??
    get("discussion");
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  const labels = Array.isArray(subject?.labels)
    ? (subject.labels as Array<{ name?: unknown }>)
        .map((label) => text(label.name))
        .filter((label) => label !== null)
    : [];
  const ref = text(payload.ref);
  return {
    repo: text(get("repository")?.full_name),
    conclusion: text(subject?.conclusion),
    branch: text(subject?.head_branch) ?? (ref?.startsWith("refs/heads/") ? ref.slice(11) : null),
    labels,
    url: text(subject?.html_url) ?? text(subject?.details_url) ?? text(payload.compare),
    title: text(subject?.title) ?? text(subject?.name) ?? text(get("head_commit")?.message),
  };
}

function summary(event: string, payload: Record<string, unknown>): string {
  const facts = factsOf(payload);
  return [
    `GitHub event: ${event}`,
    facts.repo && `Repository: ${facts.repo}`,
    facts.branch && `Branch: ${facts.branch}`,
    facts.conclusion && `Conclusion: ${facts.conclusion}`,
    facts.title && `Title: ${facts.title}`,
    facts.labels.length > 0 && `Labels: ${facts.labels.join(", ")}`,
    facts.url && `Link: ${facts.url}`,
  ]
    .filter(Boolean)
    .join("\n");
}

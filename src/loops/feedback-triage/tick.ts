/**
 * One tick of `feedback-triage`: read every source (a failed one is reported and its items
 * are not taken as gone), and when something came or went, triage it all (triage.ts), save
 * items and clusters in one transaction, label or comment on GitHub issues when asked
 * (labels and one sticky comment only: never closes), and send the digest (notify `report`)
 * when new items arrived. With a model tier declared, new or changed themes get a one-line
 * title from the cheapest tier in one request (titles.ts), else keep their top terms.
 * Nothing new: no embedding or model request, no notification, no write.
 */
import { createOpenAI } from "@ai-sdk/openai";
import { embedMany } from "ai";
import { LoopdError } from "../../domain/errors.js";
import type { FeedbackTriageParams } from "../../domain/templates/feedback-triage.js";
import { githubClient, parseRepoRef, resolveGithubAccess, upsertStickyComment } from "../../github/index.js";
import type { LoopContext, LoopTick } from "../loop.js";
import { renderDigest } from "./digest.js";
import { type IncomingItem, readSource, sourceName } from "./sources.js";
import { clustersToName, nameClusters } from "./titles.js";
import { type TriageResult, triage } from "./triage.js";

type Params = Omit<FeedbackTriageParams, "every">;

/** Texts per embedding request. */
const EMBED_BATCH = 256;

export const feedbackTriageTick: LoopTick = async (context) => {
  const params = context.loop as unknown as Params;
  const memory = context.feedback;
  const incoming: IncomingItem[] = [];
  const readSources = new Set<string>();
  const problems: string[] = [];
  let firstError: LoopdError | null = null;
  for (const source of params.sources) {
    try {
      const items = await readSource(source, {
        baseDir: context.spec.repo,
        env: context.env,
        githubApiUrl: context.githubApiUrl,
        signal: context.signal,
      });
      incoming.push(...items);
      readSources.add(sourceName(source));
      context.log(`${sourceName(source)}: ${items.length} item(s)`);
    } catch (error) {
      if (context.signal.aborted) throw error;
      const failure = asLoopdError(error);
      firstError ??= failure;
      problems.push(`${failure.message} (${failure.code})`);
      context.log(`${sourceName(source)}: ${failure.message}`);
    }
  }
  const [stored, previous] = await Promise.all([memory.items(), memory.clusters()]);
  const result = await triage({
    stored,
    previous,
    incoming,
    readSources,
    minCluster: params.minCluster,
    similarity: params.similarity,
    now: context.now(),
    ...(params.embedding ? { embed: embedder(params.embedding, context) } : {}),
  });
  const failed = firstError
    ? { error: { code: firstError.code, message: firstError.message, hint: firstError.hint } }
    : {};
  if (result === null) {
    const active = previous.filter((cluster) => cluster.status !== "resolved").length;
    return {
      summary: `no new feedback (${stored.length} item(s), ${active} theme(s))`,
      agent: null,
      ...failed,
    };
  }
  if (result.newItems.length > 0) await nameThemes(context, result, previous);
  await memory.save(result.changes);
  await actOnIssues(params, result, context);
  const digest = renderDigest(context.run.routineName, result, problems);
  if (result.newItems.length > 0) await context.notify({ kind: "report", summary: digest, url: null });
  context.log(
    `${result.newItems.length} new, ${result.removed} gone, ${result.duplicates} duplicate(s); ${result.clusters.length} theme(s)`,
  );
  return { summary: digest, agent: null, ...failed };
};

/** Titles for the new or changed themes from the cheap tier; on any failure the labels stand. */
async function nameThemes(
  context: LoopContext,
  result: TriageResult,
  previous: Awaited<ReturnType<LoopContext["feedback"]["clusters"]>>,
): Promise<void> {
  const model = context.model;
  const unnamed = clustersToName(result.clusters, previous);
  if (model === null || unnamed.length === 0) return;
  try {
    const named = await nameClusters(model, unnamed);
    context.log(`named ${named} of ${unnamed.length} theme(s) with ${model.model} (tier ${model.tier})`);
  } catch (error) {
    context.signal.throwIfAborted();
    context.log(
      `theme titles from ${model.model} failed, top terms kept: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function embedder(
  embedding: NonNullable<Params["embedding"]>,
  context: LoopContext,
): (texts: string[]) => Promise<number[][]> {
  return async (texts) => {
    const apiKey = context.env[embedding.apiKeyEnv];
    if (!apiKey) {
      throw new LoopdError(
        "LOOPD_AUTH_MISSING",
        `feedback-triage's embedding model needs ${embedding.apiKeyEnv}`,
        {
          hint: `Set ${embedding.apiKeyEnv} in the daemon's environment, or drop \`embedding\` to use offline TF-IDF.`,
        },
      );
    }
    const provider = createOpenAI({ apiKey, ...(embedding.baseUrl ? { baseURL: embedding.baseUrl } : {}) });
    const model = provider.embedding(embedding.model);
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += EMBED_BATCH) {
      const { embeddings } = await embedMany({
        model,
        values: texts.slice(start, start + EMBED_BATCH),
        abortSignal: context.signal,
        maxRetries: 1,
      });
      vectors.push(...embeddings);
    }
    context.log(`embedded ${texts.length} new item(s) with ${embedding.model}`);
    return vectors;
  };
}

/** Labels (`feedback:<cluster>`) and one sticky comment per new issue in a reported theme, when asked. */
async function actOnIssues(params: Params, result: TriageResult, context: LoopContext): Promise<void> {
  if (!params.label && !params.comment) return;
  const reported = new Map(result.clusters.map((cluster) => [cluster.id, cluster]));
  for (const source of params.sources) {
    if (!("github" in source)) continue;
    const hosted = parseRepoRef(source.github);
    if (!hosted) continue;
    const repo = { owner: hosted.owner, repo: hosted.repo };
    const access = await resolveGithubAccess(context.env, context.githubApiUrl, {
      ...(source.tokenEnv ? { tokenEnv: source.tokenEnv } : {}),
    });
    const github = githubClient(access);
    const prefix = `gh:${source.github}#`;
    for (const item of result.newItems) {
      const cluster = item.clusterId ? reported.get(item.clusterId) : undefined;
      if (!cluster || !item.key.startsWith(prefix)) continue;
      const number = Number(item.key.slice(prefix.length));
      if (params.label) await github.addLabels(repo, number, [`feedback:${cluster.id}`]);
      if (params.comment) {
        const similar = cluster.representatives.filter((rep) => rep.key !== item.key && rep.url);
        const body = [
          `**loopd feedback triage** (routine \`${context.run.routineName}\`): this issue is in theme **${cluster.id}** — ${cluster.title ?? cluster.label} (${cluster.size} reports).`,
          ...(similar.length > 0 ? ["", "Similar reports:", ...similar.map((rep) => `- ${rep.url}`)] : []),
        ].join("\n");
        await upsertStickyComment(github, repo, number, `feedback-triage/${context.run.routineName}`, body);
      }
    }
  }
}

function asLoopdError(error: unknown): LoopdError {
  if (error instanceof LoopdError) return error;
  const { code } = error as { code?: string };
  const message = error instanceof Error ? error.message : String(error);
  return code?.startsWith("LOOPD_")
    ? (error as LoopdError)
    : new LoopdError("LOOPD_FEEDBACK_SOURCE_FAILED", message);
}

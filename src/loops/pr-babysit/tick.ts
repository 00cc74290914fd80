/**
 * One tick of `pr-babysit`: a deterministic pass over the watched pull requests that costs no
 * model request unless a PR needs an agent. Per PR, in order: gave up on this head → left
 * alone; not due yet (cadence) → skipped; conflicts → an agent merges the base in (or a
 * person is told); failing checks → a flaky-looking job is re-run, a persisting failure goes
 * to an agent whose fix lands as a new commit on the head branch; behind the base → the
 * branch is updated (GitHub's merge, or a rebase); else pending or green. At most one agent
 * job per tick. Pushes pass the guard rails of assess.ts `pushRefusal` first.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_GIT_AUTHOR, parseAuthor } from "../../domain/run-delivery.js";
import type { PrBabysitParams } from "../../domain/templates/pr-babysit.js";
import {
  type GithubAccess,
  type GithubClient,
  githubClient,
  type PullDetail,
  type PullSummary,
  parseRepoRef,
  type RepoRef,
  resolveGithubAccess,
  upsertStickyComment,
} from "../../github/index.js";
import type { HarnessResult } from "../../harness/harness.js";
import { git, gitSucceeds } from "../../workspace/git.js";
import { checkoutPullBranches, fetchBranch, integrateBase, pushBranch } from "../../workspace/github-git.js";
import type { LoopContext, LoopOutcome, LoopTick } from "../loop.js";
import {
  ciState,
  failureSignature,
  hasConflicts,
  isFailedConclusion,
  MINUTE,
  memoryFor,
  nextLook,
  type PrMemory,
  pushRefusal,
} from "./assess.js";
import { conflictInput, failureInput, stickyBody } from "./report.js";

const FLAKY_ITEM = "flaky-jobs";

export const prBabysitTick: LoopTick = async (context) => {
  const params = context.loop as unknown as PrBabysitParams;
  const access = await resolveGithubAccess(context.env, context.githubApiUrl, { tokenEnv: params.tokenEnv });
  const hosted = parseRepoRef(params.repo);
  if (!hosted) throw new Error(`unvalidated repo ${params.repo}`);
  const tick = new PrBabysit(context, params, access, { owner: hosted.owner, repo: hosted.repo });
  return tick.run();
};

class PrBabysit {
  private readonly github: GithubClient;
  private me: string | null = null;
  private defaultBranch = "";
  private cloneUrl = "";
  private flaky: string[] = [];
  private agent: HarnessResult | null = null;
  private agentStarted = false;

  constructor(
    private readonly ctx: LoopContext,
    private readonly params: PrBabysitParams,
    private readonly access: GithubAccess,
    private readonly repo: RepoRef,
  ) {
    this.github = githubClient(access);
  }

  async run(): Promise<LoopOutcome> {
    const { params } = this;
    if (params.prs === "mine" || params.pushBranches === undefined) {
      this.me = (await this.github.authenticatedUser()).login;
    }
    const filter =
      params.prs === "mine"
        ? { author: this.me ?? "" }
        : params.prs.startsWith("label:")
          ? { label: params.prs.slice("label:".length) }
          : ("all" as const);
    const pulls = await this.github.listOpenPulls(this.repo, filter);
    const stored = await this.ctx.items.all();
    const open = new Set(pulls.map((pull) => itemOf(pull.number)));
    // Merged and closed pull requests are forgotten.
    await this.ctx.items.forget([...stored.keys()].filter((key) => key.startsWith("pr:") && !open.has(key)));
    this.flaky = (stored.get(FLAKY_ITEM) as string[] | undefined) ?? [];
    const watched = pulls.slice(0, params.maxPrs);
    this.ctx.log(
      `${params.repo}: ${pulls.length} open PR(s) match prs: ${params.prs}${pulls.length > watched.length ? `; looking at the first ${watched.length} (maxPrs)` : ""}`,
    );
    const lines: string[] = [];
    let error: unknown = null;
    for (const pull of watched) {
      if (this.ctx.signal.aborted) break;
      const memory = memoryFor(stored.get(itemOf(pull.number)) as PrMemory | undefined, pull.head.sha);
      memory.url = pull.htmlUrl;
      // One PR GitHub will not answer for does not keep the others waiting; the run still fails with it.
      const line = await this.look(pull, memory).catch((failure: unknown) => {
        error ??= failure;
        Object.assign(
          memory,
          { status: "error", note: messageOf(failure) },
          nextLook(memory, false, this.ctx.now()),
        );
        return `error: ${messageOf(failure)}`;
      });
      await this.ctx.items.put(itemOf(pull.number), memory);
      this.ctx.log(`#${pull.number} ${line}`);
      lines.push(`#${pull.number} ${line}`);
    }
    const summary =
      lines.length === 0
        ? `${params.repo}: no open PRs to look after`
        : `${params.repo}: ${lines.join("; ")}`;
    return { summary, agent: this.agent, ...(error !== null ? { error: errorOf(error) } : {}) };
  }

  /** Decides and acts on one pull request; returns what happened in a few words. */
  private async look(pull: PullSummary, memory: PrMemory): Promise<string> {
    const now = this.ctx.now();
    if (memory.gaveUp) return `${memory.status}: ${memory.note} (left alone until its head changes)`;
    const asked = this.ctx.run.trigger === "manual" || this.ctx.run.trigger === "event";
    if (!asked && now < memory.nextCheckAt)
      return `${memory.status}, next look in ${minutes(memory.nextCheckAt - now)}`;
    const detail = await this.github.pull(this.repo, pull.number);
    const checks = await this.github.checkRuns(this.repo, detail.head.sha);
    const statuses = await this.github.commitStatuses(this.repo, detail.head.sha);
    for (const check of checks.filter((check) => check.conclusion === "success")) {
      if (!memory.passed.includes(check.name)) memory.passed.push(check.name);
      // A job that failed, was re-run and then passed is flaky: remembered for every PR.
      if ((memory.reruns[check.name] ?? 0) > 0) await this.rememberFlaky(check.name);
    }
    const ci = ciState(checks, statuses);
    const settle = (status: string, note: string, calm = false): string => {
      Object.assign(memory, { status, note }, nextLook(memory, calm, now));
      return `${status}: ${note}`;
    };
    if (hasConflicts(detail)) return this.conflict(detail, memory, settle);
    if (ci === "red") return this.red(detail, memory, settle);
    const behind = this.params.update === "off" ? 0 : await this.github.behindBy(this.repo, detail);
    if (behind > 0) return this.update(detail, behind, settle);
    if (ci === "pending") return settle("pending", "checks running");
    return settle("green", "checks pass, up to date", true);
  }

  private async red(detail: PullDetail, memory: PrMemory, settle: Settle): Promise<string> {
    const runs = await this.github.workflowRuns(this.repo, detail.head.sha);
    const failing = [];
    for (const run of runs.filter((run) => isFailedConclusion(run.conclusion))) {
      for (const job of await this.github.jobs(this.repo, run.id)) {
        if (isFailedConclusion(job.conclusion)) failing.push({ run, job });
      }
    }
    if (failing.length === 0)
      return settle("red", "a check fails outside GitHub Actions (no log to work from)");
    for (const { run, job } of failing) {
      const looksFlaky = memory.passed.includes(job.name) || this.flaky.includes(job.name);
      if (looksFlaky && (memory.reruns[job.name] ?? 0) < this.params.retryFlaky) {
        await this.github.rerunFailedJobs(this.repo, run.id);
        memory.reruns[job.name] = (memory.reruns[job.name] ?? 0) + 1;
        return settle("pending", `re-ran ${job.name}, which looks flaky (re-run ${memory.reruns[job.name]})`);
      }
    }
    const { job } = failing[0]!;
    const names = failing.map((entry) => entry.job.name).join(", ");
    if (!this.params.fix) return settle("red", `failing: ${names}`);
    const log = await this.github.jobLog(this.repo, job);
    const signature = failureSignature(job.name, detail.head.sha, log.firstError);
    if (memory.attempted.includes(signature))
      return this.giveUp(detail, memory, `${job.name} still fails after loopd's attempt`, settle);
    const refusal = await this.pushRefusal(detail);
    if (refusal) return this.giveUp(detail, memory, `not fixing ${job.name}: ${refusal}`, settle, "refused");
    if (this.agentStarted)
      return settle("red", `failing: ${names}; the fix waits for the next tick (one agent per tick)`);
    memory.attempted.push(signature);
    const base = await this.fetchPull(detail, false);
    const out = await this.startAgent(failureInput(detail, job, log), base.head);
    return this.land(detail, memory, out, `${job.name} failed`, settle, null);
  }

  private async conflict(detail: PullDetail, memory: PrMemory, settle: Settle): Promise<string> {
    if (!this.params.fix)
      return this.giveUp(detail, memory, `conflicts with ${detail.base.ref}`, settle, "conflict");
    const refusal = await this.pushRefusal(detail);
    if (refusal)
      return this.giveUp(
        detail,
        memory,
        `conflicts with ${detail.base.ref}; not resolving: ${refusal}`,
        settle,
        "refused",
      );
    if (this.agentStarted)
      return settle("conflict", "the merge waits for the next tick (one agent per tick)");
    const signature = failureSignature("conflict", detail.head.sha, detail.base.sha);
    if (memory.attempted.includes(signature))
      return this.giveUp(detail, memory, "the conflict was attempted before", settle, "conflict");
    memory.attempted.push(signature);
    const refs = await this.fetchPull(detail, true);
    const out = await this.startAgent(conflictInput(detail, refs.base), refs.head);
    return this.land(detail, memory, out, `conflicts with ${detail.base.ref}`, settle, refs.baseSha);
  }

  /** Behind its base without conflicts: GitHub merges the base in, or loopd rebases; no agent. */
  private async update(detail: PullDetail, behind: number, settle: Settle): Promise<string> {
    const refusal = await this.pushRefusal(detail);
    if (refusal)
      return settle("behind", `${behind} commit(s) behind ${detail.base.ref}; not updated: ${refusal}`);
    if (this.params.update === "merge") {
      await this.github.updateBranch(this.repo, detail.number, detail.head.sha);
      return settle("updating", `merged ${detail.base.ref} in (${behind} commit(s) behind)`);
    }
    const dir = mkdtempSync(join(tmpdir(), "loopd-rebase-"));
    try {
      await git(["init", "--quiet"], { cwd: dir });
      const remote = this.remote(detail);
      const { headSha, baseSha } = await checkoutPullBranches(
        dir,
        {
          head: { ...remote, branch: detail.head.ref },
          base: { ...this.baseRemote(), branch: detail.base.ref },
        },
        "rebase",
        this.ctx.signal,
      );
      const result = await integrateBase(dir, baseSha, "rebase", this.identity());
      if (result.status === "conflict")
        return settle("conflict", `rebasing onto ${detail.base.ref} conflicts in ${result.files.join(", ")}`);
      if (result.status === "up-to-date") return settle("pending", "up to date");
      await pushBranch(dir, remote, result.head, detail.head.ref, {
        lease: headSha,
        signal: this.ctx.signal,
      });
      return settle("updating", `rebased onto ${detail.base.ref} (${behind} commit(s) behind)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The agent's work, pushed as a new commit on the head branch, or the reason it was not. */
  private async land(
    detail: PullDetail,
    memory: PrMemory,
    out: { result: HarnessResult; commit: string | null },
    problem: string,
    settle: Settle,
    mustContain: string | null,
  ): Promise<string> {
    const { result, commit } = out;
    if (result.outcome !== "succeeded") {
      const why =
        result.error?.code === "LOOPD_VERIFY_FAILED"
          ? "its fix did not pass verify"
          : (result.error?.message ?? "the agent failed");
      return this.giveUp(detail, memory, `${problem}; ${why}`, settle);
    }
    if (commit === null || commit === detail.head.sha) {
      return this.giveUp(
        detail,
        memory,
        `${problem}; the agent changed nothing: ${result.summary ?? "no reason given"}`,
        settle,
      );
    }
    if (
      mustContain &&
      !(await gitSucceeds(["merge-base", "--is-ancestor", mustContain, commit], { cwd: this.ctx.spec.repo }))
    ) {
      return this.giveUp(
        detail,
        memory,
        `${problem}; the agent did not merge ${detail.base.ref}: ${result.summary ?? ""}`,
        settle,
      );
    }
    try {
      await pushBranch(this.ctx.spec.repo, this.remote(detail), commit, detail.head.ref, {
        signal: this.ctx.signal,
      });
    } catch (error) {
      return this.giveUp(
        detail,
        memory,
        `${problem}; the fix ${commit.slice(0, 7)} could not be pushed: ${(error as Error).message}`,
        settle,
      );
    }
    const message = `${problem}; pushed ${commit.slice(0, 7)} on top of \`${detail.head.ref}\`${this.ctx.spec.verify ? ` (\`${this.ctx.spec.verify.command}\` passed)` : ""}: ${result.summary ?? ""}`;
    await this.comment(detail, message, true);
    await this.ctx.notify({
      kind: "fixed",
      summary: `${this.params.repo}#${detail.number}: ${message}`,
      url: `${detail.htmlUrl}/commits/${commit}`,
    });
    return settle("fixing", `pushed ${commit.slice(0, 7)}`);
  }

  /** Reported once (comment + notification), then left alone until the head changes. */
  private async giveUp(
    detail: PullDetail,
    memory: PrMemory,
    reason: string,
    settle: Settle,
    status = "gave-up",
  ): Promise<string> {
    memory.gaveUp = true;
    await this.comment(detail, `${reason}. loopd leaves this PR alone until its head changes.`, false);
    await this.ctx.notify({
      kind: "needs_attention",
      summary: `${this.params.repo}#${detail.number}: ${reason}`,
      url: detail.htmlUrl,
    });
    return settle(status, reason);
  }

  private async comment(detail: PullDetail, message: string, ok: boolean): Promise<void> {
    const body = stickyBody({ routine: this.ctx.run.routineName, runId: this.ctx.run.id, message, ok });
    await upsertStickyComment(
      this.github,
      this.repo,
      detail.number,
      `pr-babysit/${this.ctx.run.routineName}`,
      body,
    );
  }

  private async startAgent(
    input: string,
    base: string,
  ): Promise<{ result: HarnessResult; commit: string | null }> {
    this.agentStarted = true;
    const out = await this.ctx.runAgent({ input, base });
    this.agent = out.result;
    return out;
  }

  /** Fetches the PR's head (and base) into the routine's repo under refs/loopd/, for the agent's worktree. */
  private async fetchPull(
    detail: PullDetail,
    withBase: boolean,
  ): Promise<{ head: string; base: string; baseSha: string | null }> {
    const dir = this.ctx.spec.repo;
    if (!existsSync(dir)) {
      throw new Error(`pr-babysit fixes PRs in a local clone: routine repo ${dir} is not a folder`);
    }
    const prefix = `refs/loopd/${this.ctx.run.routineName}/pr-${detail.number}`;
    await fetchBranch(dir, this.remote(detail), detail.head.ref, `${prefix}/head`, this.ctx.signal);
    const baseSha = withBase
      ? await fetchBranch(dir, this.baseRemote(), detail.base.ref, `${prefix}/base`, this.ctx.signal)
      : null;
    return { head: `${prefix}/head`, base: `${prefix}/base`, baseSha };
  }

  private async pushRefusal(detail: PullDetail): Promise<string | null> {
    await this.repository();
    const protectedHead = detail.fromFork
      ? false
      : await this.github.branchProtected(this.repo, detail.head.ref);
    return pushRefusal(detail, {
      defaultBranch: this.defaultBranch,
      protectedHead,
      pushBranches: this.params.pushBranches,
      me: this.me,
    });
  }

  private async repository(): Promise<void> {
    if (this.defaultBranch) return;
    const info = await this.github.repository(this.repo);
    this.defaultBranch = info.defaultBranch;
    this.cloneUrl = info.cloneUrl;
  }

  /** Where the head branch lives: `remote` when given, else the fork's or the repository's clone URL. */
  private remote(detail: PullDetail): { url: string; token: string | null } {
    const url =
      this.params.remote ?? (detail.fromFork && detail.head.cloneUrl ? detail.head.cloneUrl : this.cloneUrl);
    return { url, token: this.access.token };
  }

  private baseRemote(): { url: string; token: string | null } {
    return { url: this.params.remote ?? this.cloneUrl, token: this.access.token };
  }

  private identity(): { name: string; email: string } {
    return parseAuthor(DEFAULT_GIT_AUTHOR) ?? { name: "loopd", email: "loopd@localhost" };
  }

  private async rememberFlaky(job: string): Promise<void> {
    if (this.flaky.includes(job)) return;
    this.flaky = [...this.flaky, job].slice(-100);
    await this.ctx.items.put(FLAKY_ITEM, this.flaky);
  }
}

type Settle = (status: string, note: string, calm?: boolean) => string;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorOf(error: unknown): { code: string; message: string; hint?: string } {
  const { code, hint } = error as { code?: string; hint?: string };
  return { code: code ?? "LOOPD_RUN_FAILED", message: messageOf(error), ...(hint ? { hint } : {}) };
}

function itemOf(number: number): string {
  return `pr:${number}`;
}

function minutes(ms: number): string {
  return ms < MINUTE ? "under a minute" : `${Math.round(ms / MINUTE)}m`;
}

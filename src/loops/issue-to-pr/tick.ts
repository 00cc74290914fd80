/**
 * One tick of `issue-to-pr`: a deterministic pass over the open issues carrying the label that
 * costs one API call and no model request when no issue is new. Per issue, oldest first: its
 * title and body are what loopd last handled (memory by issue number + a fingerprint of the
 * report) → left alone; an open PR from its fix branch exists already (a lost memory, a
 * re-labelled issue) → adopted, nothing new; else an agent reproduces and fixes it from the
 * fix branch (when an earlier fix is there) or the base, loopd's `verify` runs, and a passing
 * fix is pushed to `<branchPrefix><N>` with the one PR for that branch opened or updated and
 * one sticky comment on the issue. A fix that did not pass, or no change, is a sticky comment
 * saying what the agent tried, and no PR. At most one agent job per tick.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { LoopdError } from "../../domain/errors.js";
import type { IssueToPrParams } from "../../domain/templates/issue-to-pr.js";
import {
  findStickyComment,
  type GithubAccess,
  type GithubClient,
  githubClient,
  type IssueInfo,
  parseRepoRef,
  type RepoRef,
  resolveGithubAccess,
  stickyMarker,
  upsertStickyComment,
} from "../../github/index.js";
import { openOrUpdatePull } from "../../github/open-pull.js";
import type { HarnessResult } from "../../harness/harness.js";
import { fetchBranch, type GitRemote, pushBranch } from "../../workspace/github-git.js";
import type { LoopContext, LoopOutcome, LoopTick } from "../loop.js";
import { remoteBranchSha } from "./remote-branch.js";
import { commentBody, issueInput, pullBody, pullTitle } from "./report.js";

/** What the loop remembers of an issue (loop item `issue:<n>`). */
export interface IssueMemory {
  /** The report (title + body) this state is about; null while the issue waits for its turn. */
  fingerprint: string | null;
  status: "pr-open" | "gave-up" | "waiting" | "error";
  note: string;
  /** The issue on GitHub. */
  url: string;
  /** The fix PR, once there is one. */
  pull: { number: number; url: string } | null;
  /** The fix branch's head loopd pushed. */
  head: string | null;
}

export const issueToPrTick: LoopTick = async (context) => {
  const params = context.loop as unknown as IssueToPrParams;
  const access = await resolveGithubAccess(context.env, context.githubApiUrl, { tokenEnv: params.tokenEnv });
  const hosted = parseRepoRef(params.repo);
  if (!hosted) throw new Error(`unvalidated repo ${params.repo}`);
  return new IssueToPr(context, params, access, { owner: hosted.owner, repo: hosted.repo }).run();
};

class IssueToPr {
  private readonly github: GithubClient;
  private defaultBranch = "";
  private cloneUrl = "";
  private agent: HarnessResult | null = null;
  /** The issue whose fix the agent committed this tick. */
  private fixedIssue: number | null = null;

  constructor(
    private readonly ctx: LoopContext,
    private readonly params: IssueToPrParams,
    private readonly access: GithubAccess,
    private readonly repo: RepoRef,
  ) {
    this.github = githubClient(access);
  }

  async run(): Promise<LoopOutcome> {
    const { params } = this;
    const issues = await this.github.listOpenIssues(this.repo, { label: params.label });
    const stored = await this.ctx.items.all();
    const labelled = new Set(issues.map((issue) => itemOf(issue.number)));
    // Closed or unlabelled issues are forgotten: labelling one again asks for a fix again.
    await this.ctx.items.forget(
      [...stored.keys()].filter((key) => key.startsWith("issue:") && !labelled.has(key)),
    );
    const watched = issues.slice(0, params.maxIssues);
    this.ctx.log(
      `${params.repo}: ${issues.length} open issue(s) labelled ${params.label}${issues.length > watched.length ? `; looking at the first ${watched.length} (maxIssues)` : ""}`,
    );
    const lines: string[] = [];
    let error: unknown = null;
    for (const issue of watched) {
      if (this.ctx.signal.aborted) break;
      const memory = stored.get(itemOf(issue.number)) as IssueMemory | undefined;
      const fingerprint = fingerprintOf(issue);
      if (memory?.fingerprint === fingerprint) {
        lines.push(`#${issue.number} ${memory.status}: ${memory.note}`);
        continue;
      }
      const line = await this.handle(issue, fingerprint, memory ?? null).catch(async (failure: unknown) => {
        if (this.ctx.signal.aborted) throw failure;
        error ??= failure;
        // A fix that was made but could not be delivered is not made again every tick.
        const fixed = this.fixedIssue === issue.number;
        const note = `${messageOf(failure)}${fixed ? " (edit or re-label the issue to try again)" : ""}`;
        await this.remember(issue, {
          fingerprint: fixed ? fingerprint : null,
          status: "error",
          note,
          pull: memory?.pull ?? null,
          head: memory?.head ?? null,
        });
        return `error: ${note}`;
      });
      this.ctx.log(`#${issue.number} ${line}`);
      lines.push(`#${issue.number} ${line}`);
    }
    const summary =
      lines.length === 0
        ? `${params.repo}: no open issues labelled ${params.label}`
        : `${params.repo}: ${lines.join("; ")}`;
    return { summary, agent: this.agent, ...(error !== null ? { error: errorOf(error) } : {}) };
  }

  /** Decides and acts on one issue that is new or edited since; returns what happened in a few words. */
  private async handle(issue: IssueInfo, fingerprint: string, memory: IssueMemory | null): Promise<string> {
    const branch = `${this.params.branchPrefix}${issue.number}`;
    if (memory === null || memory.pull === null) {
      const [open] = await this.github.findPullsByHead(this.repo, branch, { state: "open" });
      if (open) return this.adopt(issue, fingerprint, { number: open.number, url: open.htmlUrl });
    }
    if (this.agent !== null) {
      // Its PR, if any, is kept: the edit is applied to it on a later tick.
      await this.remember(issue, {
        fingerprint: null,
        status: "waiting",
        note: "next tick (one fix per tick)",
        pull: memory?.pull ?? null,
        head: memory?.head ?? null,
      });
      return "waiting: the fix waits for the next tick (one fix per tick)";
    }
    await this.repository();
    const base = this.params.base ?? this.defaultBranch;
    const start = await this.fetchStart(issue, branch, base);
    const { result, commit } = await this.ctx.runAgent({ input: issueInput(issue, start), base: start.ref });
    this.agent = result;
    this.ctx.signal.throwIfAborted();
    if (result.error?.code === "LOOPD_BUDGET_EXCEEDED") {
      // Not the issue's fault: nothing said on GitHub, the next tick with budget tries again.
      throw new LoopdError("LOOPD_BUDGET_EXCEEDED", result.error.message, {
        ...(result.error.hint ? { hint: result.error.hint } : {}),
      });
    }
    if (commit !== null && commit !== start.sha) this.fixedIssue = issue.number;
    if (result.outcome !== "succeeded" || commit === null || commit === start.sha) {
      const why =
        result.outcome !== "succeeded"
          ? result.error?.code === "LOOPD_VERIFY_FAILED"
            ? `its fix did not pass \`${this.ctx.spec.verify?.command ?? "verify"}\``
            : `the agent failed: ${result.error?.message ?? "no reason given"}`
          : "the agent changed nothing";
      const tried = result.summary?.trim() ? `\n\nWhat it tried: ${result.summary.trim()}` : "";
      await this.comment(
        issue,
        `loopd could not fix this: ${why}. No pull request was opened.${tried}`,
        false,
      );
      await this.ctx.notify({
        kind: "needs_attention",
        summary: `${this.params.repo}#${issue.number}: no fix, ${why}`,
        url: issue.htmlUrl,
      });
      await this.remember(issue, { fingerprint, status: "gave-up", note: why });
      return `gave-up: ${why}`;
    }
    await pushBranch(this.ctx.spec.repo, this.remote(), commit, branch, {
      lease: start.existing ? start.sha : null,
      signal: this.ctx.signal,
    });
    const { pull, created } = await openOrUpdatePull(this.github, this.repo, {
      branch,
      base,
      title: pullTitle(issue),
      body: pullBody({
        marker: stickyMarker(this.key()),
        issue,
        routine: this.ctx.run.routineName,
        runId: this.ctx.run.id,
        summary: result.summary,
        verify: this.ctx.spec.verify?.command ?? null,
        commit,
        costUsd: result.costUsd ?? null,
      }),
    });
    const did = `${created ? "opened" : "updated"} #${pull.number}`;
    await this.comment(
      issue,
      `${created ? "Opened" : "Updated"} ${pull.htmlUrl} with a fix (\`${branch}\`, ${commit.slice(0, 7)}).`,
      true,
    );
    await this.ctx.notify({
      kind: "fixed",
      summary: `${this.params.repo}#${issue.number}: ${did} (${branch})`,
      url: pull.htmlUrl,
    });
    await this.remember(issue, {
      fingerprint,
      status: "pr-open",
      note: `${did} from ${branch}`,
      pull: { number: pull.number, url: pull.htmlUrl },
      head: commit,
    });
    return `pr-open: ${did} from ${branch} (${commit.slice(0, 7)})`;
  }

  /** An open PR from the fix branch is this issue's: remembered, commented once, nothing new. */
  private async adopt(
    issue: IssueInfo,
    fingerprint: string,
    pull: { number: number; url: string },
  ): Promise<string> {
    if ((await findStickyComment(this.github, this.repo, issue.number, this.key())) === null) {
      await this.comment(issue, `The fix is in ${pull.url}.`, true);
    }
    await this.remember(issue, { fingerprint, status: "pr-open", note: `#${pull.number} is open`, pull });
    return `pr-open: #${pull.number} is open already`;
  }

  /** Where the agent starts: loopd's earlier fix branch for this issue when there is one, else the base. */
  private async fetchStart(
    issue: IssueInfo,
    branch: string,
    base: string,
  ): Promise<{ ref: string; sha: string; existing: boolean }> {
    const dir = this.ctx.spec.repo;
    if (!existsSync(dir)) {
      throw new Error(`issue-to-pr fixes issues in a local clone: routine repo ${dir} is not a folder`);
    }
    const prefix = `refs/loopd/${this.ctx.run.routineName}/issue-${issue.number}`;
    const existing = (await remoteBranchSha(dir, this.remote(), branch, this.ctx.signal)) !== null;
    const ref = `${prefix}/${existing ? "fix" : "base"}`;
    const sha = await fetchBranch(dir, this.remote(), existing ? branch : base, ref, this.ctx.signal);
    return { ref, sha, existing };
  }

  private key(): string {
    return `issue-to-pr/${this.ctx.run.routineName}`;
  }

  private async comment(issue: IssueInfo, message: string, ok: boolean): Promise<void> {
    const body = commentBody({ routine: this.ctx.run.routineName, runId: this.ctx.run.id, message, ok });
    await upsertStickyComment(this.github, this.repo, issue.number, this.key(), body);
  }

  private async remember(
    issue: IssueInfo,
    state: Pick<IssueMemory, "fingerprint" | "status" | "note"> & Partial<IssueMemory>,
  ): Promise<void> {
    const memory: IssueMemory = { pull: null, head: null, url: issue.htmlUrl, ...state };
    await this.ctx.items.put(itemOf(issue.number), memory);
  }

  private async repository(): Promise<void> {
    if (this.defaultBranch) return;
    const info = await this.github.repository(this.repo);
    this.defaultBranch = info.defaultBranch;
    this.cloneUrl = info.cloneUrl;
  }

  private remote(): GitRemote {
    return { url: this.params.remote ?? this.cloneUrl, token: this.access.token };
  }
}

/** The report as written: an edit of the title or body asks for another look; loopd's own comments do not. */
function fingerprintOf(issue: IssueInfo): string {
  return createHash("sha256")
    .update(`${issue.title}\n${issue.body ?? ""}`)
    .digest("hex")
    .slice(0, 16);
}

function itemOf(number: number): string {
  return `issue:${number}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorOf(error: unknown): { code: string; message: string; hint?: string } {
  const { code, hint } = error as { code?: string; hint?: string };
  return { code: code ?? "LOOPD_RUN_FAILED", message: messageOf(error), ...(hint ? { hint } : {}) };
}

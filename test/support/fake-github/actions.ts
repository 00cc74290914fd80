/**
 * GitHub Actions routes of the fake GitHub: workflow runs of a commit, the jobs of a run, a
 * job's log (a 302 to a plain-text download, as GitHub answers) and re-running failed jobs
 * (the run and its failed jobs go back to `queued`, attempt + 1; the test decides what the
 * re-run concludes), a run's artifacts and their download (a 302 to the fake's /_blobs/…,
 * which, like GitHub's blob storage, refuses a request carrying an Authorization header).
 */
import { zipSync } from "fflate";
import type { Route } from "./rest.js";
import { EPOCH, repository, user } from "./shapes.js";
import type { ArtifactFixture, JobFixture, WorkflowRunFixture } from "./state.js";

function findRun(
  runs: WorkflowRunFixture[] | undefined,
  id: string | undefined,
): WorkflowRunFixture | undefined {
  return runs?.find((run) => run.id === Number(id));
}

function findJob(runs: WorkflowRunFixture[] | undefined, id: string | undefined) {
  for (const run of runs ?? []) {
    const job = [...(run.jobs ?? []), ...(run.previousAttempts ?? []).flat()].find(
      (candidate) => candidate.id === Number(id),
    );
    if (job) return { run, job };
  }
  return undefined;
}

export const actionsRoutes: Route[] = [
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs$/,
    answer: (ctx, [, owner, repo], { query }) => {
      const fullName = `${owner}/${repo}`;
      const headSha = query.get("head_sha");
      const branch = query.get("branch");
      const status = query.get("status");
      // Newest first, as GitHub lists them.
      const runs = [...(ctx.state.workflowRuns[fullName] ?? [])]
        .reverse()
        .filter(
          (run) =>
            (headSha === null || run.head_sha === headSha) &&
            (branch === null || run.head_branch === branch) &&
            (status === null || run.status === status),
        );
      const page = runs.map((run) => ({
        id: run.id,
        name: run.name,
        node_id: `WFR_${run.id}`,
        head_branch: run.head_branch ?? null,
        head_sha: run.head_sha,
        path: `.github/workflows/${run.name.toLowerCase()}.yml`,
        run_number: run.id,
        run_attempt: run.run_attempt ?? 1,
        event: run.event ?? "pull_request",
        status: run.status,
        conclusion: run.status === "completed" ? (run.conclusion ?? "success") : null,
        workflow_id: 70 + run.name.length,
        url: `${ctx.apiOrigin}/repos/${fullName}/actions/runs/${run.id}`,
        html_url: `${ctx.webOrigin}/${fullName}/actions/runs/${run.id}`,
        jobs_url: `${ctx.apiOrigin}/repos/${fullName}/actions/runs/${run.id}/jobs`,
        logs_url: `${ctx.apiOrigin}/repos/${fullName}/actions/runs/${run.id}/logs`,
        created_at: EPOCH,
        updated_at: EPOCH,
        actor: user(ctx.state.user),
        repository: repository(ctx, owner!, repo!),
        head_repository: repository(ctx, owner!, repo!),
      }));
      return { status: 200, page, wrap: (items, total) => ({ total_count: total, workflow_runs: items }) };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/jobs$/,
    answer: (ctx, [, owner, repo, id], { query }) => {
      const fullName = `${owner}/${repo}`;
      const run = findRun(ctx.state.workflowRuns[fullName], id);
      if (!run) return null;
      // `filter=all`: the jobs of earlier attempts too (kept on the run as `previousAttempts`).
      const earlier = query.get("filter") === "all" ? (run.previousAttempts ?? []) : [];
      const page = [
        ...earlier.flatMap((attempt, index) =>
          attempt.map((job) =>
            jobBody(ctx.apiOrigin, ctx.webOrigin, fullName, { ...run, run_attempt: index + 1 }, job),
          ),
        ),
        ...(run.jobs ?? []).map((job) => jobBody(ctx.apiOrigin, ctx.webOrigin, fullName, run, job)),
      ];
      return { status: 200, page, wrap: (items, total) => ({ total_count: total, jobs: items }) };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/actions\/jobs\/(\d+)\/logs$/,
    answer: (ctx, [, owner, repo, id]) => {
      const found = findJob(ctx.state.workflowRuns[`${owner}/${repo}`], id);
      if (!found) return null;
      // GitHub redirects to a short-lived signed URL on another host; here, the fake itself.
      return { status: 302, redirect: `${ctx.serverOrigin}/_logs/${owner}/${repo}/jobs/${id}?sig=fake` };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/artifacts$/,
    answer: (ctx, [, owner, repo, id]) => {
      const fullName = `${owner}/${repo}`;
      const run = findRun(ctx.state.workflowRuns[fullName], id);
      if (!run) return null;
      // Newest first, as GitHub lists them.
      const page = [...(run.artifacts ?? [])].reverse().map((artifact) => ({
        id: artifact.id,
        node_id: `MDg6QXJ0aWZhY3Q${artifact.id}`,
        name: artifact.name,
        size_in_bytes: artifact.sizeInBytes ?? artifactZip(artifact).byteLength,
        url: `${ctx.apiOrigin}/repos/${fullName}/actions/artifacts/${artifact.id}`,
        archive_download_url: `${ctx.apiOrigin}/repos/${fullName}/actions/artifacts/${artifact.id}/zip`,
        expired: artifact.expired === true,
        digest: null,
        created_at: EPOCH,
        updated_at: EPOCH,
        expires_at: EPOCH,
        workflow_run: {
          id: run.id,
          repository_id: 1,
          head_repository_id: 1,
          head_branch: run.head_branch ?? null,
          head_sha: run.head_sha,
        },
      }));
      return { status: 200, page, wrap: (items, total) => ({ total_count: total, artifacts: items }) };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/actions\/artifacts\/(\d+)\/zip$/,
    answer: (ctx, [, owner, repo, id]) => {
      const artifact = findArtifact(ctx.state.workflowRuns, `${owner}/${repo}`, id!);
      if (!artifact) return null;
      if (artifact.expired) return { status: 410, body: { message: "Artifact has expired", status: "410" } };
      return {
        status: 302,
        redirect: `${ctx.serverOrigin}/_blobs/${owner}/${repo}/artifacts/${id}.zip?sig=fake`,
      };
    },
  },
  {
    method: "POST",
    path: /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/rerun-failed-jobs$/,
    answer: (ctx, [, owner, repo, id]) => {
      const run = findRun(ctx.state.workflowRuns[`${owner}/${repo}`], id);
      if (!run) return null;
      if (run.status !== "completed") {
        return { status: 403, body: { message: "This workflow is already running", status: "403" } };
      }
      run.status = "queued";
      run.conclusion = null;
      run.run_attempt = (run.run_attempt ?? 1) + 1;
      for (const job of run.jobs ?? []) {
        if (
          job.conclusion === "failure" ||
          job.conclusion === "cancelled" ||
          job.conclusion === "timed_out"
        ) {
          job.status = "queued";
          job.conclusion = null;
        }
      }
      return { status: 201, body: {} };
    },
  },
];

/** A `job`. */
function jobBody(
  apiOrigin: string,
  webOrigin: string,
  fullName: string,
  run: WorkflowRunFixture,
  job: JobFixture,
) {
  const completed = job.status === "completed";
  return {
    id: job.id,
    run_id: run.id,
    run_url: `${apiOrigin}/repos/${fullName}/actions/runs/${run.id}`,
    run_attempt: run.run_attempt ?? 1,
    node_id: `J_${job.id}`,
    head_sha: run.head_sha,
    head_branch: run.head_branch ?? null,
    url: `${apiOrigin}/repos/${fullName}/actions/jobs/${job.id}`,
    html_url: `${webOrigin}/${fullName}/actions/runs/${run.id}/job/${job.id}`,
    status: job.status,
    conclusion: completed ? (job.conclusion ?? "success") : null,
    created_at: EPOCH,
    started_at: EPOCH,
    completed_at: completed ? EPOCH : null,
    name: job.name,
    workflow_name: run.name,
    steps: (job.steps ?? []).map((step, index) => ({
      name: step.name,
      status: completed ? "completed" : "queued",
      conclusion: completed ? (step.conclusion ?? "success") : null,
      number: index + 1,
      started_at: EPOCH,
      completed_at: completed ? EPOCH : null,
    })),
    check_run_url: `${apiOrigin}/repos/${fullName}/check-runs/${job.id}`,
    labels: ["ubuntu-latest"],
    runner_id: 1,
    runner_name: "GitHub Actions 1",
    runner_group_id: 2,
    runner_group_name: "GitHub Actions",
  };
}

/** The text of a job's log for the fake's /_logs download, or null. */
export function jobLogText(
  runs: Record<string, WorkflowRunFixture[]>,
  fullName: string,
  jobId: string,
): string | null {
  return findJob(runs[fullName], jobId)?.job.log ?? null;
}

export function findArtifact(
  runs: Record<string, WorkflowRunFixture[]>,
  fullName: string,
  id: string,
): ArtifactFixture | undefined {
  return (runs[fullName] ?? [])
    .flatMap((run) => run.artifacts ?? [])
    .find((artifact) => artifact.id === Number(id));
}

/** The bytes an artifact downloads as. */
export function artifactZip(artifact: ArtifactFixture): Uint8Array {
  if (artifact.zip) return artifact.zip;
  const encoder = new TextEncoder();
  return zipSync(
    Object.fromEntries(
      Object.entries(artifact.files ?? {}).map(([path, text]) => [path, encoder.encode(text)]),
    ),
  );
}

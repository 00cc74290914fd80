/** What a run produced besides its log: the diff, changed files, escaped paths, final message, its delivery. */
import type { RunDelivery } from "../domain/run-delivery.js";
import type { ArtifactKind } from "./schema.js";
import type { Db } from "./store.js";

export interface RunArtifact {
  runId: number;
  attempt: number;
  kind: ArtifactKind;
  content: string;
  createdAt: number;
}

export async function saveRunArtifacts(db: Db, artifacts: readonly RunArtifact[]): Promise<void> {
  if (artifacts.length === 0) return;
  await db
    .insertInto("run_artifacts")
    .values(
      artifacts.map((artifact) => ({
        run_id: artifact.runId,
        attempt: artifact.attempt,
        kind: artifact.kind,
        content: artifact.content,
        created_at: artifact.createdAt,
      })),
    )
    .execute();
}

export async function listRunArtifacts(db: Db, runId: number): Promise<RunArtifact[]> {
  const rows = await db
    .selectFrom("run_artifacts")
    .selectAll()
    .where("run_id", "=", runId)
    .orderBy("attempt")
    .orderBy("id")
    .execute();
  return rows.map((row) => ({
    runId: Number(row.run_id),
    attempt: row.attempt,
    kind: row.kind,
    content: row.content,
    createdAt: Number(row.created_at),
  }));
}

/** The branch head after the run (the agent's commits, if any). */
export async function recordRunHead(
  db: Db,
  runId: number,
  attempt: number,
  headCommit: string,
): Promise<void> {
  await db
    .updateTable("runs")
    .set({ head_commit: headCommit })
    .where("id", "=", runId)
    .where("attempt", "=", attempt)
    .execute();
}

/**
 * Where the run works; recorded as soon as the workspace exists, so a stuck run can be
 * inspected. A new attempt starts with no delivery of its own.
 */
export async function recordRunWorkspace(
  db: Db,
  runId: number,
  attempt: number,
  workspace: { path: string; branch: string | null },
): Promise<void> {
  await db
    .updateTable("runs")
    .set({ workspace: workspace.path, branch: workspace.branch, delivery: null })
    .where("id", "=", runId)
    .where("attempt", "=", attempt)
    .execute();
}

/** Where a kept worktree went after the run (its pool slot is reused). */
export async function recordRunKept(db: Db, runId: number, attempt: number, path: string): Promise<void> {
  await db
    .updateTable("runs")
    .set({ workspace: path })
    .where("id", "=", runId)
    .where("attempt", "=", attempt)
    .execute();
}

/** What became of the attempt's work: committed, pushed, or why not (`runs.delivery`, JSON). */
export async function recordRunDelivery(
  db: Db,
  runId: number,
  attempt: number,
  delivery: RunDelivery,
): Promise<void> {
  await db
    .updateTable("runs")
    .set({ delivery: JSON.stringify(delivery) })
    .where("id", "=", runId)
    .where("attempt", "=", attempt)
    .execute();
}

/**
 * One comment per subject per loop, edited in place: the comment starts with a marker
 * (`<!-- loopd:<key> -->`, invisible when rendered), found again on the next tick, and edited
 * instead of adding a second one. A body that did not change costs no write at all.
 */
import { LoopdError } from "../domain/errors.js";
import type { GithubClient } from "./client.js";
import type { CommentInfo, RepoRef } from "./types.js";

export type StickyAction = "created" | "updated" | "unchanged";

const KEY = /^[A-Za-z0-9._:/-]+$/;

/** The marker a sticky comment with this key starts with. */
export function stickyMarker(key: string): string {
  if (!KEY.test(key)) {
    throw new LoopdError(
      "LOOPD_INTERNAL",
      `sticky comment key ${JSON.stringify(key)} has characters outside [A-Za-z0-9._:/-]`,
    );
  }
  return `<!-- loopd:${key} -->`;
}

/** The sticky comment with this key on an issue or pull request, if there is one. */
export async function findStickyComment(
  github: GithubClient,
  repo: RepoRef,
  number: number,
  key: string,
): Promise<CommentInfo | null> {
  const marker = stickyMarker(key);
  // At the start only: a person quoting the comment does not make theirs the sticky one.
  const comments = await github.issueComments(repo, number);
  return comments.find((comment) => comment.body.startsWith(marker)) ?? null;
}

/** Creates the sticky comment, or edits the one there; never a second one. */
export async function upsertStickyComment(
  github: GithubClient,
  repo: RepoRef,
  number: number,
  key: string,
  body: string,
): Promise<{ comment: CommentInfo; action: StickyAction }> {
  const text = `${stickyMarker(key)}\n${body}`;
  const existing = await findStickyComment(github, repo, number, key);
  if (!existing) return { comment: await github.createComment(repo, number, text), action: "created" };
  if (existing.body === text) return { comment: existing, action: "unchanged" };
  return { comment: await github.updateComment(repo, existing.id, text), action: "updated" };
}

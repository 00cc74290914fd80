/**
 * What a built-in loop watches — pull requests (`pr-babysit`) or issues (`issue-to-pr`) — with
 * their state, what its last look found and the next look.
 */
import type { RoutineDetail } from "../types.js";
import { RelativeTime } from "./relative-time.js";

type WatchedItem = NonNullable<RoutineDetail["watching"]>[number];

/** States in which the loop waits for a new commit on the PR (or an edit of the issue) before it looks again. */
const LEFT_ALONE = new Set(["gave-up", "refused", "conflict"]);

export type WatchedKind = WatchedItem["kind"];

export const WATCHED_HEADING: Record<WatchedKind, string> = {
  "pull-request": "Pull requests",
  issue: "Issues",
};

export function WatchedItems({ items, kind, now }: { items: WatchedItem[]; kind: WatchedKind; now: number }) {
  if (items.length === 0) {
    const what = kind === "issue" ? "open issues carrying its label" : "open pull requests";
    return <p className="muted">Nothing yet: the first tick looks at the {what}.</p>;
  }
  const leftAloneUntil = kind === "issue" ? "when the issue is edited" : "when its head changes";
  return (
    <div className="table-wrap">
      <table data-testid="watched-items">
        <thead>
          <tr>
            <th>{kind === "issue" ? "Issue" : "PR"}</th>
            <th>State</th>
            <th>Last look</th>
            <th>Next look</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.item}>
              <td>
                {item.url ? (
                  <a href={item.url} target="_blank" rel="noreferrer">
                    {item.item}
                  </a>
                ) : (
                  item.item
                )}
              </td>
              <td>{item.status}</td>
              <td>{item.note}</td>
              <td>
                {item.nextLookAt ? (
                  <RelativeTime iso={item.nextLookAt} now={now} />
                ) : (
                  <span className="muted">{LEFT_ALONE.has(item.status) ? leftAloneUntil : "next tick"}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

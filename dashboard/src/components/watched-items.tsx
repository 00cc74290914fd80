/** The pull requests a built-in loop (`pr-babysit`) watches: state, what its last look found, next look. */
import type { RoutineDetail } from "../types.js";
import { RelativeTime } from "./relative-time.js";

type WatchedItem = NonNullable<RoutineDetail["watching"]>[number];

/** States in which the loop waits for a new commit on the PR before it looks again. */
const LEFT_ALONE = new Set(["gave-up", "refused", "conflict"]);

export function WatchedItems({ items, now }: { items: WatchedItem[]; now: number }) {
  if (items.length === 0) {
    return <p className="muted">Nothing yet: the first tick looks at the open pull requests.</p>;
  }
  return (
    <div className="table-wrap">
      <table data-testid="watched-items">
        <thead>
          <tr>
            <th>PR</th>
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
                  <span className="muted">
                    {LEFT_ALONE.has(item.status) ? "when its head changes" : "next tick"}
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

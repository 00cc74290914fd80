/** "in 5 min" with the exact local time on hover. */
import { relativeTime } from "../format.js";

export function RelativeTime({ iso, now }: { iso: string | null; now: number }) {
  if (iso === null) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {relativeTime(iso, now)}
    </time>
  );
}

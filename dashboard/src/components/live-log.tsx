/**
 * A run's log: streamed over SSE while the run is live, fetched once when it is over.
 * Follows the bottom like `tail -f` unless the reader has scrolled up.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { api } from "../api.js";
import { describeRunEvent } from "../run-event-line.js";
import { followRun } from "../sse.js";
import type { RunEvent, RunView } from "../types.js";
import { ErrorBox } from "./error-box.js";

export function LiveLog({
  runId,
  live,
  onRun,
  onEnd,
}: {
  runId: number;
  live: boolean;
  onRun: (run: RunView) => void;
  onEnd: () => void;
}) {
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [state, setState] = useState<"loading" | "open" | "reconnecting" | "done">("loading");
  const [error, setError] = useState<Error>();
  const callbacks = useRef({ onRun, onEnd });
  callbacks.current = { onRun, onEnd };

  useEffect(() => {
    setEvents([]);
    setError(undefined);
    if (!live) {
      let current = true;
      api.runEvents(runId).then(
        (all) => {
          if (current) setEvents(all);
          if (current) setState("done");
        },
        (failure: Error) => current && setError(failure),
      );
      return () => {
        current = false;
      };
    }
    const seen = new Set<number>();
    return followRun(
      runId,
      {
        event: (event) => {
          if (seen.has(event.id)) return; // a reconnect may replay the tail
          seen.add(event.id);
          setEvents((previous) => [...previous, event]);
        },
        run: (run) => callbacks.current.onRun(run),
        end: () => {
          setState("done");
          callbacks.current.onEnd();
        },
      },
      setState,
    );
  }, [runId, live]);

  const box = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever lines arrive
  useLayoutEffect(() => {
    if (pinned.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [events]);

  const lines = events.flatMap((event) => {
    const line = describeRunEvent(event);
    return line ? [{ id: event.id, ...line }] : [];
  });

  return (
    <div className="log-wrap">
      <div className="log-state muted">
        {state === "open" && (
          <>
            <span className="dot dot-live" aria-hidden="true" /> live
          </>
        )}
        {state === "reconnecting" && "reconnecting…"}
        {state === "loading" && "loading…"}
        {state === "done" && `${lines.length} lines`}
      </div>
      {error && <ErrorBox error={error} />}
      <pre
        className="log"
        ref={box}
        onScroll={(event) => {
          const el = event.currentTarget;
          pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {lines.length === 0 && state !== "loading" ? (
          <span className="muted">{live ? "waiting for output…" : "no output recorded"}</span>
        ) : (
          lines.map((line) => (
            <div key={line.id} className={`line line-${line.tone}`}>
              {line.text}
            </div>
          ))
        )}
      </pre>
    </div>
  );
}

/**
 * Server-sent event streams. EventSource cannot send headers, so the token travels as
 * `access_token`; the browser resends `Last-Event-ID` on reconnect, and callers still drop
 * duplicates by event id because a reconnect may replay the tail.
 */
import { API_BASE } from "./api.js";
import { readToken } from "./token.js";
import type { RoutineView, RunEvent, RunView } from "./types.js";

export interface StreamHandlers {
  /** Named events (`run`, `end`, …) and `message` for unnamed ones; data parsed as JSON when it is. */
  [event: string]: (data: unknown) => void;
}

export function openStream(
  path: string,
  handlers: StreamHandlers,
  onState?: (state: "open" | "reconnecting") => void,
): () => void {
  const separator = path.includes("?") ? "&" : "?";
  const token = readToken();
  const url = `${API_BASE}${path}${token ? `${separator}access_token=${encodeURIComponent(token)}` : ""}`;
  const source = new EventSource(url);
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => handler(parseData((event as MessageEvent<string>).data)));
  }
  source.onopen = () => onState?.("open");
  source.onerror = () => onState?.("reconnecting");
  return () => source.close();
}

function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

export type Change =
  | { kind: "run"; run: RunView }
  | { kind: "routine"; routine: RoutineView }
  | { kind: "routine-removed"; name: string };

/**
 * Daemon-wide changes: a run queued, started, retried or finished; a routine changed or
 * removed. Nothing is replayed, so load the lists first, then follow.
 */
export function followChanges(onChange: (change: Change) => void): () => void {
  return openStream("/events", {
    run: (data) => onChange({ kind: "run", run: data as RunView }),
    routine: (data) => onChange({ kind: "routine", routine: data as RoutineView }),
    "routine-removed": (data) => onChange({ kind: "routine-removed", name: (data as { name: string }).name }),
  });
}

/** One run's log from the start, then live, until it ends. */
export function followRun(
  runId: number,
  handlers: { event: (event: RunEvent) => void; run: (run: RunView) => void; end: () => void },
  onState?: (state: "open" | "reconnecting") => void,
): () => void {
  let close = (): void => undefined;
  close = openStream(
    `/runs/${runId}/events?follow=1`,
    {
      message: (data) => handlers.event(data as RunEvent),
      run: (data) => handlers.run(data as RunView),
      end: () => {
        // Without closing, EventSource would reconnect and replay the whole log.
        close();
        handlers.end();
      },
    },
    onState,
  );
  return () => close();
}

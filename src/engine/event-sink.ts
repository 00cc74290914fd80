/**
 * Buffers a run's events and writes them in batches: a chatty command must not cost one
 * INSERT per line. Caps events per attempt so a runaway log cannot fill the store.
 */
import type { HarnessEvent } from "../harness/harness.js";
import { appendRunEvents, type NewRunEvent } from "../store/run-events.js";
import type { Store } from "../store/store.js";

export const MAX_EVENTS_PER_ATTEMPT = 10_000;
const FLUSH_EVERY_MS = 200;
const FLUSH_AT = 200;

export class EventSink {
  private buffer: NewRunEvent[] = [];
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly runId: number,
    private readonly attempt: number,
    private readonly now: () => number,
  ) {}

  push(event: HarnessEvent): void {
    this.count++;
    if (this.count > MAX_EVENTS_PER_ATTEMPT) {
      if (this.count === MAX_EVENTS_PER_ATTEMPT + 1) {
        this.add("status", null, JSON.stringify({ event: "truncated", after: MAX_EVENTS_PER_ATTEMPT }));
      }
      return;
    }
    if (event.type === "log") this.add("log", event.stream, event.line);
    else this.add(event.type, null, JSON.stringify(event.data));
  }

  status(data: Record<string, unknown>): void {
    this.add("status", null, JSON.stringify(data));
  }

  /** Writes everything buffered; resolves when it is stored. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing
      .then(() => appendRunEvents(this.store.db, batch))
      .catch(() => {
        // Losing log lines must not fail the run; the outcome is recorded separately.
      });
    return this.flushing;
  }

  private add(type: string, stream: string | null, data: string): void {
    this.buffer.push({ runId: this.runId, attempt: this.attempt, at: this.now(), type, stream, data });
    if (this.buffer.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
  }
}

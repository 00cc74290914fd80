/**
 * Run events of every run in this process, written in batches: a chatty command, or many
 * short runs finishing together, must not cost one INSERT per line. Caps events per attempt
 * so a runaway log cannot fill the store.
 */

import type { NewRunEvent } from "../domain/run-event.js";
import type { HarnessEvent } from "../harness/harness.js";
import { appendRunEvents } from "../store/run-events.js";
import type { Store } from "../store/store.js";

export const MAX_EVENTS_PER_ATTEMPT = 10_000;
const FLUSH_EVERY_MS = 100;
const FLUSH_AT = 500;

export class RunEventBuffer {
  private buffer: NewRunEvent[] = [];
  private readonly counts = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** A harness event of a run's attempt. */
  push(runId: number, attempt: number, event: HarnessEvent): void {
    const count = (this.counts.get(runId) ?? 0) + 1;
    this.counts.set(runId, count);
    if (count > MAX_EVENTS_PER_ATTEMPT) {
      if (count === MAX_EVENTS_PER_ATTEMPT + 1) {
        this.add(
          runId,
          attempt,
          "status",
          null,
          JSON.stringify({ event: "truncated", after: MAX_EVENTS_PER_ATTEMPT }),
        );
      }
      return;
    }
    if (event.type === "log") this.add(runId, attempt, "log", event.stream, event.line);
    else this.add(runId, attempt, event.type, null, JSON.stringify(event.data));
  }

  /** A lifecycle event (started, finished …); never capped. */
  status(runId: number, attempt: number, data: Record<string, unknown>): void {
    this.add(runId, attempt, "status", null, JSON.stringify(data));
  }

  /** The attempt is over: forget its count. */
  end(runId: number): void {
    this.counts.delete(runId);
  }

  /**
   * Hands over everything buffered so far, once the flushes under way are stored, for a
   * caller that writes them in its own transaction (completion-batcher.ts); `giveBack` them
   * if that transaction fails.
   */
  async take(): Promise<NewRunEvent[]> {
    // A flush the timer starts meanwhile holds older events: those are stored first.
    let flushing: Promise<void>;
    do {
      flushing = this.flushing;
      await flushing;
    } while (flushing !== this.flushing);
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    return batch;
  }

  /** Events `take`n whose write failed: written with the next flush, before newer ones. */
  giveBack(events: readonly NewRunEvent[]): void {
    if (events.length === 0) return;
    this.buffer = [...events, ...this.buffer];
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return this.flushing;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing
      .then(() => appendRunEvents(this.store.db, batch, this.store.dialect))
      // Losing log lines must not fail runs; outcomes are recorded separately.
      .catch(this.onError);
    return this.flushing;
  }

  private add(runId: number, attempt: number, type: string, stream: string | null, data: string): void {
    this.buffer.push({ runId, attempt, at: this.now(), type, stream, data });
    if (this.buffer.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
  }
}

/**
 * Group commit for run completions: runs that finish while a batch is being written are
 * written together in the next one, so N short runs cost a handful of transactions instead
 * of N. The run events buffered so far (a run's log up to its `finished` line) are written in
 * the same transaction, before the completions, so a finished run's log is whole.
 */
import { type Completion, type CompletionResult, completeRuns } from "../store/sql/complete-run.js";
import type { Store } from "../store/store.js";
import type { RunEventBuffer } from "./event-sink.js";

const MAX_BATCH = 500;

interface Pending {
  completion: Completion;
  resolve: (result: CompletionResult) => void;
  reject: (error: unknown) => void;
}

export class CompletionBatcher {
  private pending: Pending[] = [];
  private writing = false;

  constructor(
    private readonly store: Store,
    private readonly events: RunEventBuffer,
  ) {}

  complete(completion: Completion): Promise<CompletionResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ completion, resolve, reject });
      if (!this.writing) void this.write();
    });
  }

  private async write(): Promise<void> {
    this.writing = true;
    // Let the runs finishing in this same turn of the event loop join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        const events = await this.events.take();
        try {
          const results = await completeRuns(
            this.store,
            batch.map((item) => item.completion),
            events,
          );
          batch.forEach((item, index) => {
            item.resolve(results[index]!);
          });
        } catch (error) {
          // Not lost: written with the next flush (a retried completion comes after them).
          this.events.giveBack(events);
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}

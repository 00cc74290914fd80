/**
 * The outbox delivery worker: sends pending outbox rows to their channels, one process-wide
 * loop next to the engine. A pass first seals digest windows that have ended
 * (`sql/seal-digests.ts`: held rows become one pending digest row per channel), then claims a batch (`sql/claim-deliveries.ts`), sends every row
 * in it at once, records each outcome fenced on its attempt (`sql/finish-delivery.ts`), and
 * claims again while batches come back full. Then one cheap read (`nextDeliveryAt`) sets a
 * single timer for the next due row or digest window end, capped by a backstop (default
 * 60 s); `wake()` starts a pass at once for callers that just wrote a row. In the daemon the
 * backstop is not its own (`backstopMs: null`): the engine's once-a-minute wake-up read also
 * answers the outbox's next due time and the daemon hands it over (`dueAt`), so an idle
 * process makes one query a minute for both loops.
 *
 * Retries follow `deliveryRetryDelayMs` up to `maxAttempts`; a receiver that refuses for good
 * (`retryable: false`) or a channel no longer in the config ends the row as dead at once.
 * Several daemons on one PostgreSQL store share the work: claims skip each other's rows.
 */
import type { Channel } from "../domain/config-schema.js";
import { channelSchema } from "../domain/config-schema.js";
import type { ConfigSettings } from "../domain/settings.js";
import { errorMessage } from "../lib/error-message.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import { type ClaimedDelivery, claimDeliveries, nextDeliveryAt } from "../store/sql/claim-deliveries.js";
import { type DeliveryOutcome, finishDelivery } from "../store/sql/finish-delivery.js";
import { sealDigests } from "../store/sql/seal-digests.js";
import type { Store } from "../store/store.js";
import { deliver as deliverToChannel } from "./channels.js";
import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  type DeliverOptions,
  type DeliveryResult,
  eventFromOutboxRow,
  type NotificationEvent,
} from "./event.js";

export type DeliverFn = (
  channel: Channel,
  event: NotificationEvent,
  options?: DeliverOptions,
) => Promise<DeliveryResult>;

export type DeliveryWorkerEvent =
  | { type: "delivered"; id: string; channel: string; attempt: number }
  | { type: "retry"; id: string; channel: string; attempt: number; at: number; error: string }
  | { type: "dead"; id: string; channel: string; attempt: number; error: string }
  /** A `log` channel's notification: the line to print in the daemon's output. */
  | { type: "notification"; id: string; channel: string; line: string }
  /** A pass failed (store unavailable, …); the worker tries again after `errorRetryMs`. */
  | { type: "error"; error: unknown }
  /** The passes are over: the worker sleeps for `inMs` (the next due row, at most the backstop) unless woken. */
  | { type: "deliveries-idle"; inMs: number | null };

export interface DeliveryWorkerOptions {
  store: Store;
  /** Epoch ms; tests move it forward instead of waiting for backoff. Default Date.now. */
  now?: () => number;
  /** Default: `deliver` from `notify/channels.ts`. */
  deliver?: DeliverFn;
  /** Passed to every `deliver` call (per-attempt timeout). */
  deliverOptions?: DeliverOptions;
  /** Rows claimed per transaction, all sent concurrently. Default 20. */
  batchSize?: number;
  /** How long a claimed row is this worker's; must outlast one attempt. Default timeout + 50 s. */
  leaseMs?: number;
  /** Attempts before a retryable failure becomes dead. Default 8 (about 7 h of retries). */
  maxAttempts?: number;
  /** Delay after failed attempt n (1-based). Default `deliveryRetryDelayMs`. */
  retryDelayMs?: (failedAttempt: number) => number;
  /**
   * The longest an idle worker sleeps before looking again. Default 60 s. null: no backstop
   * of its own; whoever owns one hands it the next due time (`dueAt`), and until then it
   * sleeps unless woken or its own next row (a retry, a digest window end) comes due.
   */
  backstopMs?: number | null;
  onEvent?: (event: DeliveryWorkerEvent) => void;
}

export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 8;

/**
 * 10 s, 30 s, 2 m, 10 m, 1 h, 2 h, 4 h: quick enough to ride out a receiver restart, long
 * enough that a webhook endpoint down for an afternoon still gets the event. Later attempts
 * repeat the last step.
 */
export const DELIVERY_RETRY_SCHEDULE_MS = [
  10_000, 30_000, 120_000, 600_000, 3_600_000, 7_200_000, 14_400_000,
] as const;

/** "Equal jitter" (half fixed, half random) so rows that failed together do not retry together. */
export function deliveryRetryDelayMs(failedAttempt: number, random: number = Math.random()): number {
  const schedule = DELIVERY_RETRY_SCHEDULE_MS;
  const step = schedule[Math.min(Math.max(failedAttempt, 1), schedule.length) - 1]!;
  return Math.round(step / 2 + (step / 2) * random);
}

/** A failed pass (store unreachable) is retried this soon, not at the backstop. */
const ERROR_RETRY_MS = 5_000;
/** Due rows another daemon holds locked: look again shortly rather than spin. */
const CONTENDED_RETRY_MS = 1_000;
/** setTimeout's limit (about 24.8 days): a later row is looked at again by then. */
const MAX_TIMER_MS = 2_147_483_647;

export class DeliveryWorker {
  private readonly store: Store;
  private readonly now: () => number;
  private readonly deliver: DeliverFn;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: (failedAttempt: number) => number;
  private readonly backstopMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (epoch ms), so a handed-over time only ever brings it forward. */
  private timerAt: number | undefined;
  /** The passes in flight; a wake() during them asks for one more before it settles. */
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.deliver = options.deliver ?? deliverToChannel;
    this.batchSize = options.batchSize ?? 20;
    this.leaseMs =
      options.leaseMs ?? (options.deliverOptions?.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS) + 50_000;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
    this.retryDelayMs = options.retryDelayMs ?? ((attempt) => deliveryRetryDelayMs(attempt));
    // null: no cap of its own (the caller's backstop read plans for it through dueAt).
    this.backstopMs = options.backstopMs === null ? Number.POSITIVE_INFINITY : (options.backstopMs ?? 60_000);
  }

  /** Starts the loop; resolves after its first pass (the daemon need not wait for it). */
  start(): Promise<void> {
    if (!this.stopped) return this.running ?? Promise.resolve();
    this.stopped = false;
    return this.wake();
  }

  /**
   * Look for due rows now. Resolves when a pass that started after this call has finished,
   * so a caller (or a test) that wrote a row can await its first attempt.
   */
  wake(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.runPasses();
    return this.running;
  }

  /**
   * The outbox's next due time as someone else read it (the daemon: the engine's wake-up
   * read), null for none: a pass now if it has come, else the timer is brought forward to it.
   * Never pushed back nor cleared: this worker's own read after its last pass, which may be
   * newer than the caller's, set it. While passes run it is ignored: their closing read comes
   * after the caller's and sees every row it saw.
   */
  dueAt(at: number | null): void {
    if (this.stopped || this.running || at === null) return;
    const wait = at - this.now();
    if (wait <= 0) void this.wake();
    else if (this.timerAt === undefined || at < this.timerAt) this.arm(wait);
  }

  /** Stops the timer and waits for attempts in flight (bounded by the channel timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    await this.running;
  }

  private async runPasses(): Promise<void> {
    this.disarm();
    let delayMs: number;
    do {
      this.again = false;
      delayMs = await this.pass();
    } while (this.again && !this.stopped);
    // Cleared in the same tick as the last check, so no wake() can fall between the two.
    this.running = undefined;
    if (this.stopped) return;
    if (Number.isFinite(delayMs)) this.arm(delayMs);
    this.emit({ type: "deliveries-idle", inMs: Number.isFinite(delayMs) ? delayMs : null });
  }

  private arm(delayMs: number): void {
    this.disarm();
    const wait = Math.min(delayMs, MAX_TIMER_MS);
    this.timerAt = this.now() + wait;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      void this.wake();
    }, wait);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }

  /** One pass; returns how long to sleep before the next (Infinity: until woken or handed a time). */
  private async pass(): Promise<number> {
    try {
      let channels: Record<string, unknown> | undefined;
      // Digests whose window has ended become pending rows, claimed just below.
      await sealDigests(this.store, this.now());
      for (;;) {
        const { claimed } = await claimDeliveries(this.store, {
          now: this.now(),
          limit: this.batchSize,
          leaseMs: this.leaseMs,
        });
        if (claimed.length === 0) break;
        // Read per pass, not cached: `loopd apply` may have changed the channels since.
        channels ??= (await getSetting<ConfigSettings>(this.store.db, CONFIG_SETTING))?.channels ?? {};
        const config = channels;
        // allSettled: stop() must not return while sends of a failed batch are still going.
        // A row whose finish failed is sent again when its lease ends (receivers dedupe).
        const settled = await Promise.allSettled(claimed.map((row) => this.attempt(row, config)));
        const failed = settled.find((result) => result.status === "rejected");
        if (failed) throw failed.reason;
        if (claimed.length < this.batchSize || this.stopped) break;
      }
      const next = await nextDeliveryAt(this.store);
      if (next === null) return this.backstopMs;
      const wait = next - this.now();
      return Math.min(wait > 0 ? wait : CONTENDED_RETRY_MS, this.backstopMs);
    } catch (error) {
      this.emit({ type: "error", error });
      return Math.min(ERROR_RETRY_MS, this.backstopMs);
    }
  }

  private async attempt(row: ClaimedDelivery, channels: Record<string, unknown>): Promise<void> {
    const outcome = await this.send(row, channels);
    const accepted = await finishDelivery(this.store, {
      id: row.id,
      attempt: row.attempt,
      now: this.now(),
      outcome,
    });
    // A rejected finish means another sender owns the row now; its outcome is the one recorded.
    if (!accepted) return;
    const base = { id: row.id, channel: row.channel, attempt: row.attempt };
    if (outcome.kind === "delivered") this.emit({ type: "delivered", ...base });
    else if (outcome.kind === "retry")
      this.emit({ type: "retry", ...base, at: outcome.at, error: outcome.error });
    else this.emit({ type: "dead", ...base, error: outcome.error });
  }

  private async send(row: ClaimedDelivery, channels: Record<string, unknown>): Promise<DeliveryOutcome> {
    const raw = Object.hasOwn(channels, row.channel) ? channels[row.channel] : undefined;
    if (raw === undefined) {
      return {
        kind: "dead",
        error: `channel "${row.channel}" is not in the config any more (removed from loopd.yaml?)`,
      };
    }
    const channel = channelSchema.safeParse(raw);
    if (!channel.success) {
      return { kind: "dead", error: `channel "${row.channel}" is not valid: ${channel.error.message}` };
    }
    let result: DeliveryResult;
    try {
      result = await this.deliver(channel.data, eventFromOutboxRow(row), {
        ...this.options.deliverOptions,
        log: (line) => this.emit({ type: "notification", id: row.id, channel: row.channel, line }),
      });
    } catch (error) {
      // Channels report failures as results; a throw is unexpected, so assume it may pass.
      result = { ok: false, retryable: true, error: errorMessage(error) };
    }
    if (result.ok) return { kind: "delivered" };
    if (!result.retryable) return { kind: "dead", error: result.error };
    if (row.attempt >= this.maxAttempts) {
      return { kind: "dead", error: `gave up after ${row.attempt} attempts: ${result.error}` };
    }
    return { kind: "retry", at: this.now() + this.retryDelayMs(row.attempt), error: result.error };
  }

  private emit(event: DeliveryWorkerEvent): void {
    this.options.onEvent?.(event);
  }
}

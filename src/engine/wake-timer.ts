/**
 * The engine's single timer. A timer that fires much later than asked — against the wall
 * clock or the monotonic one — means the process was suspended (the laptop slept) or the
 * clock jumped: it is reported, and the pass it starts applies catch-up.
 */
import { performance } from "node:perf_hooks";

/** A timer this much later than asked means the process was suspended (sleep) or the clock jumped. */
export const SLEEP_DETECTION_MS = 5_000;

export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private expectedAt: { wall: number; mono: number } | undefined;

  constructor(
    private readonly options: {
      now: () => number;
      onWake: () => void;
      onLate: (lateByMs: number) => void;
    },
  ) {}

  /** Wakes in `delayMs`, noticing whether it woke much later than that. */
  arm(delayMs: number): void {
    clearTimeout(this.timer);
    this.expectedAt = { wall: this.options.now() + delayMs, mono: performance.now() + delayMs };
    this.timer = setTimeout(() => this.fire(), delayMs);
  }

  /** Wakes in `delayMs` to retry a failed pass; lateness is not looked at. */
  retry(delayMs: number): void {
    clearTimeout(this.timer);
    this.expectedAt = undefined;
    this.timer = setTimeout(this.options.onWake, delayMs);
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private fire(): void {
    const expected = this.expectedAt;
    if (expected) {
      const lateByMs = Math.max(this.options.now() - expected.wall, performance.now() - expected.mono);
      if (lateByMs > SLEEP_DETECTION_MS) this.options.onLate(Math.round(lateByMs));
    }
    this.options.onWake();
  }
}

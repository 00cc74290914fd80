/**
 * Cross-process wake-ups, so a change made anywhere (apply, run-now, a finished run) is
 * acted on at once instead of at the next backstop rescan.
 *   PostgreSQL: LISTEN/NOTIFY on a channel per schema, across hosts.
 *   SQLite: the one daemon of a data dir writes its URL to daemon.json; other processes
 *   POST /wake to it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import type pg from "pg";
import { LoopdError } from "../domain/errors.js";
import { request } from "../lib/http-request.js";
import type { Store, StoreOptions } from "../store/store.js";

export interface WakeBus {
  /** Calls `onWake` whenever another process signals a change. */
  listen(onWake: () => void): Promise<void>;
  /** Signals a change to the other processes sharing the store. */
  notify(): Promise<void>;
  close(): Promise<void>;
  /** Whether wake-ups from other processes arrive now (false while reconnecting); absent: always. */
  listening?(): boolean;
}

export function wakeChannel(schema: string | undefined): string {
  return schema ? `loopd_wake_${schema}`.slice(0, 63) : "loopd_wake";
}

/** Reconnecting the LISTEN connection: 250 ms, doubling, at most this. */
const RECONNECT_MAX_MS = 5_000;

/**
 * LISTEN on its own connection (a pooled one would lose the subscription when returned). When
 * that connection dies — a server restart, pg_terminate_backend, a network drop — it is
 * re-established with backoff, and `onWake` is called once it is back: notifications sent
 * meanwhile were lost, so a pass must look at the store itself (the catch-up pass). The loss
 * is reported to `onError` once per outage, however many reconnects fail.
 */
export class PostgresWakeBus implements WakeBus {
  private client: pg.Client | undefined;
  private onWake: (() => void) | undefined;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly url: string,
    private readonly channel: string,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  async listen(onWake: () => void): Promise<void> {
    this.onWake = onWake;
    // A first failure is not fatal either: the engine's passes work without wake-ups (backstop).
    await this.connect();
  }

  listening(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const { default: postgres } = await import("pg");
    const client = new postgres.Client({
      connectionString: this.url,
      application_name: `loopd-listen:${this.channel}`.slice(0, 63),
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    let lost = false;
    // Reported once per outage (the loss, or the first connect that failed), not per retry;
    // 'end' may come before the error that explains it.
    let report = this.failures === 0;
    const onLost = (error?: unknown) => {
      if (error !== undefined && report && !this.closed) {
        report = false;
        this.onError(listenLost(error));
      }
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => {});
      this.reconnectLater();
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", () => this.onWake?.());
    try {
      await client.connect();
      await client.query(`listen "${this.channel}"`);
    } catch (error) {
      onLost(error);
      return;
    }
    if (lost) return;
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    const reconnected = this.failures > 0;
    this.failures = 0;
    this.client = client;
    // Notifications sent while we were not listening are lost: look at the store now.
    if (reconnected) this.onWake?.();
  }

  private reconnectLater(): void {
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(250 * 2 ** this.failures, RECONNECT_MAX_MS);
    this.failures++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  async notify(): Promise<void> {
    await sql`select pg_notify(${this.channel}, '')`.execute(this.store.db);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

function listenLost(error: unknown): LoopdError {
  const message = error instanceof Error ? error.message : String(error);
  return new LoopdError(
    "LOOPD_STORE_UNAVAILABLE",
    `lost the LISTEN connection (${message}): reconnecting; until then wake-ups from other processes wait for the next pass`,
    { cause: error },
  );
}

/** The wake bus for a store: NOTIFY on PostgreSQL, the daemon's /wake on SQLite. */
export function createWakeBus(
  store: Store,
  options: StoreOptions,
  home: string,
  onError?: (error: unknown) => void,
): WakeBus {
  return options.kind === "postgres"
    ? new PostgresWakeBus(store, options.url, wakeChannel(options.schema), onError)
    : new SqliteWakeBus(home);
}

export const DAEMON_FILE = "daemon.json";

export interface DaemonInfo {
  pid: number;
  url: string;
  workerId: string;
  version: string;
  startedAt: string;
}

export function readDaemonInfo(home: string): DaemonInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(home, DAEMON_FILE), "utf8")) as DaemonInfo;
  } catch {
    return undefined;
  }
}

/** Whether a daemon is serving this data dir (its process is alive). */
export function liveDaemon(home: string): DaemonInfo | undefined {
  const info = readDaemonInfo(home);
  if (!info) return undefined;
  try {
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

export class SqliteWakeBus implements WakeBus {
  constructor(private readonly home: string) {}

  async listen(): Promise<void> {
    // The daemon's HTTP server receives wake-ups (POST /wake) and calls the engine directly.
  }

  async notify(): Promise<void> {
    const daemon = liveDaemon(this.home);
    if (!daemon || daemon.pid === process.pid) return;
    try {
      // node:http, not fetch: a CLI command that wakes the daemon exits without fetch's ≈ 100 ms.
      const answer = await request(new URL("/wake", daemon.url), {
        method: "POST",
        signal: AbortSignal.timeout(1000),
      });
      await answer.text();
    } catch {
      // The daemon's backstop rescan will see the change within a minute.
    }
  }

  async close(): Promise<void> {}
}

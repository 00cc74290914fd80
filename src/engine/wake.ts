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
import type { Store, StoreOptions } from "../store/store.js";

export interface WakeBus {
  /** Calls `onWake` whenever another process signals a change. */
  listen(onWake: () => void): Promise<void>;
  /** Signals a change to the other processes sharing the store. */
  notify(): Promise<void>;
  close(): Promise<void>;
}

export function wakeChannel(schema: string | undefined): string {
  return schema ? `loopd_wake_${schema}`.slice(0, 63) : "loopd_wake";
}

export class PostgresWakeBus implements WakeBus {
  private client: pg.Client | undefined;

  constructor(
    private readonly store: Store,
    private readonly url: string,
    private readonly channel: string,
  ) {}

  async listen(onWake: () => void): Promise<void> {
    const { default: postgres } = await import("pg");
    const client = new postgres.Client({ connectionString: this.url });
    await client.connect();
    client.on("notification", () => onWake());
    // A dropped listener connection is noticed by the backstop rescan; reconnecting is cheap.
    client.on("error", () => {
      this.client = undefined;
    });
    await client.query(`listen "${this.channel}"`);
    this.client = client;
  }

  async notify(): Promise<void> {
    await sql`select pg_notify(${this.channel}, '')`.execute(this.store.db);
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => {});
  }
}

/** The wake bus for a store: NOTIFY on PostgreSQL, the daemon's /wake on SQLite. */
export function createWakeBus(store: Store, options: StoreOptions, home: string): WakeBus {
  return options.kind === "postgres"
    ? new PostgresWakeBus(store, options.url, wakeChannel(options.schema))
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
      await fetch(new URL("/wake", daemon.url), { method: "POST", signal: AbortSignal.timeout(1000) });
    } catch {
      // The daemon's backstop rescan will see the change within a minute.
    }
  }

  async close(): Promise<void> {}
}

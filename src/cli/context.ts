/**
 * What every command gets: the global flags, a writer that prints human text or JSON, the
 * store, opened on first use and closed when the command ends, and the daemon to go through
 * instead when one is up (LOOPD_URL, or the one serving this data dir).
 */

import { relative } from "node:path";
import { connectDaemon, type DaemonClient } from "../app/daemon-client.js";
import { type HomeSource, homeReason, resolveHome } from "../app/home.js";
import { openStoreFromEnv, storeOptionsFromEnv } from "../app/open-store.js";
import type { Store } from "../store/store.js";

export interface GlobalOptions {
  json?: boolean;
  home?: string;
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  now: () => number;
}

export class CommandContext {
  readonly json: boolean;
  readonly home: string;
  /** How `home` was chosen (--home, a project's .loopd, $LOOPD_HOME, the user data dir). */
  readonly homeSource: HomeSource;
  private storePromise: Promise<Store> | undefined;
  private daemonPromise: Promise<DaemonClient | null> | undefined;

  constructor(
    options: GlobalOptions,
    readonly io: Io,
  ) {
    this.json = options.json ?? false;
    const home = resolveHome(options.home, io.env);
    this.home = home.path;
    this.homeSource = home.source;
  }

  /** Which store this command talks to and why, for messages like `ls` on an empty store. */
  storeLabel(): string {
    if (this.io.env.LOOPD_URL) return `the daemon at $LOOPD_URL (${this.io.env.LOOPD_URL})`;
    const options = storeOptionsFromEnv(this.home, this.io.env);
    if (options.kind === "postgres") return "the PostgreSQL store of $LOOPD_DATABASE_URL";
    const rel = relative(process.cwd(), options.file);
    const file = rel === "" || rel.startsWith("..") ? options.file : rel;
    return `${file} (${homeReason(this.homeSource)})`;
  }

  store(): Promise<Store> {
    this.storePromise ??= openStoreFromEnv(this.home, this.io.env);
    return this.storePromise;
  }

  /** The daemon's API when LOOPD_URL is set or a daemon serves this home; null: use the store. */
  daemon(): Promise<DaemonClient | null> {
    this.daemonPromise ??= connectDaemon(this.home, this.io.env);
    return this.daemonPromise;
  }

  /** Exit code of a command that succeeded in printing its answer but reports a problem (doctor). */
  exitCode = 0;

  /** Prints `value` as JSON under --json, otherwise the human rendering. */
  print(value: unknown, human: () => string): void {
    if (this.json) this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    else {
      const text = human();
      if (text.length > 0) this.io.stdout(text.endsWith("\n") ? text : `${text}\n`);
    }
  }

  async close(): Promise<void> {
    if (this.storePromise) await (await this.storePromise.catch(() => undefined))?.close();
  }
}

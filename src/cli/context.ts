/**
 * What every command gets: the global flags, a writer that prints human text or JSON, and the
 * loopd client (the daemon's API or the store, chosen once by app/client/connect.ts), opened
 * on first use and closed when the command ends.
 */

import { relative } from "node:path";
import type { LoopdClient } from "../app/client/loopd-client.js";
import { type HomeSource, homeReason, resolveHome } from "../app/home.js";
import { openStoreFromEnv, storeOptionsFromEnv } from "../app/open-store.js";

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
  private clientPromise: Promise<LoopdClient> | undefined;
  private localStorePromise: ReturnType<typeof openStoreFromEnv> | undefined;

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

  /** loopd as this command reaches it: LOOPD_URL, else the daemon serving this home, else the store. */
  client(): Promise<LoopdClient> {
    // Loaded here, not at the top: `loopd mcp` (its own client) and `--help` never need it.
    this.clientPromise ??= import("../app/client/connect.js").then(({ connectLoopd }) =>
      connectLoopd({
        home: this.home,
        env: this.io.env,
        now: this.io.now,
        face: "cli",
        runsInline: true,
      }),
    );
    return this.clientPromise;
  }

  /**
   * This home's store, for what is about this machine whichever daemon is up: `serve`,
   * `worker` and `doctor` (the harnesses installed here). Opened on first use.
   */
  localStore(): ReturnType<typeof openStoreFromEnv> {
    this.localStorePromise ??= openStoreFromEnv(this.home, this.io.env);
    return this.localStorePromise;
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
    await Promise.all([
      this.clientPromise?.then((client) => client.close()).catch(() => {}),
      this.localStorePromise?.then((store) => store.close()).catch(() => {}),
    ]);
  }
}

/**
 * Which way a face reaches loopd, decided once: LOOPD_URL (token LOOPD_TOKEN, else
 * <home>/api-token) → that daemon's API; else a live daemon serving this data dir
 * (daemon.json) → its API; else the store itself. A daemon of this data dir keeps the store
 * at hand, so `apply` reads relative paths and `remind` asks a model with this machine's view.
 */
import { liveDaemon } from "../../engine/wake.js";
import { readApiToken } from "../api-token.js";
import { HttpLoopdClient } from "./http-client.js";
import { LocalLoopdClient } from "./local-client.js";
import type { ClientFace, LoopdClient } from "./loopd-client.js";

export interface ConnectOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  now: () => number;
  face: ClientFace;
  /** Execute a run fired with no daemon on SQLite in this process (the CLI). */
  runsInline?: boolean;
  /** The store side to use (and keep open) rather than a new one: a long-lived face's. */
  local?: LocalLoopdClient;
}

export async function connectLoopd(options: ConnectOptions): Promise<LoopdClient> {
  const local = () =>
    options.local ??
    new LocalLoopdClient({
      home: options.home,
      env: options.env,
      now: options.now,
      face: options.face,
      runsInline: options.runsInline ?? false,
    });
  const daemon = daemonServing(options.home);
  const url = options.env.LOOPD_URL?.trim();
  if (url) {
    const token = options.env.LOOPD_TOKEN?.trim() || (await readApiToken(options.home));
    const sameDaemon = daemon !== undefined && sameUrl(daemon.url, url);
    return new HttpLoopdClient(url, token, options.face, sameDaemon ? local() : undefined);
  }
  if (daemon) {
    return new HttpLoopdClient(daemon.url, await readApiToken(options.home), options.face, local());
  }
  return local();
}

/** The daemon serving this data dir, unless it is this very process. */
export function daemonServing(home: string): { url: string } | undefined {
  const daemon = liveDaemon(home);
  return daemon && daemon.pid !== process.pid ? daemon : undefined;
}

function sameUrl(a: string, b: string): boolean {
  const origin = (url: string) => {
    try {
      return new URL(url).origin;
    } catch {
      return url;
    }
  };
  return origin(a) === origin(b);
}

/**
 * Which store errors are faults of the connection or of the store's disk (worth retrying: the
 * server restarted, a connection was terminated, the network dropped, SQLite was busy past its
 * timeout, its disk is full or went read-only) rather than of the statement (a bug, a
 * constraint): the engine retries the first kind with backoff and keeps leases through them,
 * reporting the outage once (`storeFault` words it with a code), never a crash or a loop of errors.
 */
import { LoopdError } from "../domain/errors.js";

const NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
]);
/** SQLite's full disk, read-only file or mount, and failed reads/writes (extended codes too). */
const SQLITE_DISK = /^SQLITE_(FULL|READONLY|IOERR)/;
/** SQLSTATE classes 08 (connection exception), 57P (operator intervention), 53 (resources). */
const SQLSTATE = /^(08|57P|53)/;
const MESSAGES = [
  "Connection terminated",
  "Client has encountered a connection error",
  "timeout exceeded when trying to connect",
  "Client was closed and is not queryable",
  "terminating connection",
  "the database system is",
];

export function isConnectionFault(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && depth < 4; depth++) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === "string" && (NODE_CODES.has(code) || SQLSTATE.test(code) || SQLITE_DISK.test(code)))
      return true;
    if (typeof message === "string" && MESSAGES.some((text) => message.includes(text))) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A store fault as the coded error users see (serve's log, /healthz, doctor): the disk full,
 * the store read-only, else the store unreachable. `location` is the SQLite file or the URL.
 */
export function storeFault(error: unknown, location: string): LoopdError {
  if (error instanceof LoopdError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = sqliteCode(error);
  if (code?.startsWith("SQLITE_FULL"))
    return new LoopdError("LOOPD_STORE_FULL", `the disk holding ${location} is full (${message})`, {
      cause: error,
    });
  if (code?.startsWith("SQLITE_READONLY"))
    return new LoopdError("LOOPD_STORE_READONLY", `${location} cannot be written (${message})`, {
      cause: error,
    });
  return new LoopdError("LOOPD_STORE_UNAVAILABLE", `the store at ${location} did not answer: ${message}`, {
    cause: error,
  });
}

function sqliteCode(error: unknown): string | undefined {
  for (let cause = error, depth = 0; cause && depth < 4; depth++) {
    const { code } = cause as { code?: unknown };
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Which store errors are faults of the connection (worth retrying: the server restarted, a
 * connection was terminated, the network dropped, SQLite was busy past its timeout) rather
 * than of the statement (a bug, a constraint): the engine retries the first kind with
 * backoff and keeps leases through them.
 */
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
    if (typeof code === "string" && (NODE_CODES.has(code) || SQLSTATE.test(code))) return true;
    if (typeof message === "string" && MESSAGES.some((text) => message.includes(text))) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

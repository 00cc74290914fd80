/**
 * A PostgreSQL server of one test file's own (initdb in a temp dir, a free port, its socket in
 * the same dir), for tests that stop and start the server: the shared one at 127.0.0.1:5432
 * serves every other file running in parallel and must never be restarted. PostgreSQL refuses
 * to run as root, so as root the cluster belongs to the `postgres` OS user (`runuser`).
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth). */
  url: string;
  port: number;
  /** `fast` rolls back open transactions and closes connections (a clean restart); `immediate` is a crash. */
  stop(mode?: "fast" | "immediate"): void;
  start(): void;
  /** Stops the server (if running) and removes its files. */
  dispose(): void;
}

/** The server's binaries: PG_BINDIR, else the newest /usr/lib/postgresql/<version>/bin. */
export function postgresBinDir(): string | null {
  const candidates = [
    process.env.PG_BINDIR,
    ...(existsSync("/usr/lib/postgresql")
      ? readdirSync("/usr/lib/postgresql")
          .sort((a, b) => Number(b) - Number(a))
          .map((version) => `/usr/lib/postgresql/${version}/bin`)
      : []),
  ];
  return candidates.find((dir) => dir !== undefined && existsSync(join(dir, "initdb"))) ?? null;
}

/** As root the cluster runs as `postgres`; otherwise as this user. */
function owner(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** Why a private server cannot be made here, or null when it can. */
export function privatePostgresProblem(): string | null {
  if (postgresBinDir() === null) return "no PostgreSQL server binaries (initdb, pg_ctl) found";
  if (process.getuid?.() === 0) {
    try {
      execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
    } catch {
      return "running as root and there is no `postgres` OS user to own a cluster";
    }
  }
  return null;
}

/**
 * For suites that restart a server of their own: whether to run them. Without the server
 * binaries they are skipped with one line, except under CI, where that fails the file (as
 * `postgresSuiteEnabled` does for the shared server).
 */
export function privatePostgresSuiteEnabled(suite: string): boolean {
  const problem = privatePostgresProblem();
  if (problem === null) return true;
  if (process.env.CI) throw new Error(`CI needs a PostgreSQL server installation for ${suite}: ${problem}`);
  console.warn(`skipped: ${problem} (${suite})`);
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (bin === null) throw new Error("no PostgreSQL server binaries");
  const dir = mkdtempSync(join(tmpdir(), "loopd-pg-"));
  const data = join(dir, "data");
  const user = owner();
  if (user) chownSync(dir, user.uid, user.gid);
  const run = (tool: string, args: string[]) =>
    execFileSync(
      user ? "runuser" : join(bin, tool),
      user ? ["-u", "postgres", "--", join(bin, tool), ...args] : args,
      { stdio: ["ignore", "pipe", "pipe"], cwd: dir, timeout: 60_000 },
    );
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    // No fsync: an OS crash could lose data, a server crash (`stop -m immediate`) cannot. Not
    // synchronous_commit=off: that loses acknowledged commits in a server crash too.
    "-c fsync=off",
  ].join(" ");
  let running = false;
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start() {
      run("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "-t", "30", "start"]);
      running = true;
    },
    stop(mode = "fast") {
      run("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "30", "stop"]);
      running = false;
    },
    dispose() {
      try {
        if (running) server.stop("immediate");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    server.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return server;
}

#!/usr/bin/env node
/**
 * `npm test`'s pretest step: makes sure the machine has what the suite drives for real —
 * Debian's chromium (the dashboard's browser tests), bubblewrap (Codex's and loopd's sandbox
 * paths must work with it present), python3-pytest (ci-health's re-runs against real pytest)
 * and a PostgreSQL server on 127.0.0.1:5432 (every store
 * test runs against both dialects). As root it installs what is missing with apt-get and
 * starts a stopped server; otherwise it stops at once with a coded message naming the exact
 * command to run. Nothing in the suite is skipped for a missing tool, so this is where a
 * missing tool is reported, once, before anything is built.
 *
 * Plain Node (no dependencies, no TypeScript): it runs right after `npm ci`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const CODE = "LOOPD_TEST_PREREQUISITE";
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const postgres = postgresTarget(process.env.LOOPD_TEST_DATABASE_URL);

/** What the suite needs: how to tell it is there, and the Debian package that brings it. */
const TOOLS = [
  {
    what: "chromium",
    why: "the dashboard's browser tests drive it",
    paths: ["/usr/bin/chromium"],
    pkg: "chromium",
  },
  {
    what: "bubblewrap (bwrap)",
    why: "the harness tests must pass with the system sandbox present",
    paths: ["/usr/bin/bwrap"],
    pkg: "bubblewrap",
  },
  {
    what: "pytest (python3-pytest)",
    why: "ci-health's re-run of only the failed tests is tested against real pytest",
    paths: ["/usr/lib/python3/dist-packages/pytest"],
    pkg: "python3-pytest",
  },
];

function main() {
  const missing = TOOLS.filter((tool) => !tool.paths.some((path) => existsSync(path)));
  if (missing.length > 0) {
    const packages = missing.map((tool) => tool.pkg);
    if (!isRoot) {
      fail(
        `${missing.map((tool) => `${tool.what} is missing (${tool.why})`).join("; ")}`,
        `run \`sudo apt-get install -y --no-install-recommends ${packages.join(" ")}\`, then \`npm test\` again`,
      );
    }
    say(`installing ${packages.join(", ")} with apt-get (${missing.map((tool) => tool.why).join("; ")})`);
    aptInstall(packages);
  }
  ensurePostgres();
}

function ensurePostgres() {
  if (!postgres.local) {
    // A server elsewhere (LOOPD_TEST_DATABASE_URL) is the user's to run; the suite reports it.
    return;
  }
  if (answers(postgres.host, postgres.port)) return;
  const clusters = installedClusters();
  if (clusters.length === 0) {
    if (!isRoot) {
      fail(
        `no PostgreSQL server answers on ${postgres.host}:${postgres.port} and none is installed (the store tests run against it)`,
        "run `sudo apt-get install -y postgresql`, allow trust auth for 127.0.0.1 and create database `test`, or set LOOPD_TEST_DATABASE_URL",
      );
    }
    say("installing PostgreSQL with apt-get (the store tests run against it)");
    aptInstall(["postgresql"]);
    const [version] = installedClusters();
    startCluster(version);
    configureFreshCluster(version);
  } else {
    if (!isRoot) {
      fail(
        `PostgreSQL is installed but not answering on ${postgres.host}:${postgres.port}`,
        `run \`sudo pg_ctlcluster --skip-systemctl-redirect ${clusters[0]} main start\`, then \`npm test\` again`,
      );
    }
    say(
      `PostgreSQL is not answering on ${postgres.host}:${postgres.port}; starting cluster ${clusters[0]}/main`,
    );
    startCluster(clusters[0]);
  }
  if (!waitFor(() => answers(postgres.host, postgres.port), 30_000)) {
    fail(
      `PostgreSQL did not start answering on ${postgres.host}:${postgres.port} within 30 s`,
      "read /var/log/postgresql/*.log for the reason",
    );
  }
}

/** A cluster this script installed: trust on loopback and the `test` database, as the suite expects. */
function configureFreshCluster(version) {
  const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
  execFileSync("sh", [
    "-c",
    `sed -i '1i host all all 127.0.0.1/32 trust\\nhost all all ::1/128 trust' ${hba}`,
  ]);
  execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "reload"], {
    stdio: "inherit",
  });
  execFileSync("su", ["postgres", "-c", `createdb ${postgres.database}`], { stdio: "inherit" });
}

function startCluster(version) {
  const started = spawnSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "start"], {
    stdio: "inherit",
  });
  if (started.status !== 0 && !answers(postgres.host, postgres.port)) {
    fail(
      `pg_ctlcluster ${version} main start failed (exit ${started.status})`,
      "read /var/log/postgresql/*.log for the reason",
    );
  }
}

function installedClusters() {
  try {
    return readdirSync("/etc/postgresql").sort().reverse();
  } catch {
    return [];
  }
}

function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const args = ["install", "-y", "--no-install-recommends", ...packages];
  // The package lists may be stale or absent on a new machine: update once and try again.
  if (spawnSync("apt-get", args, { stdio: "inherit", env }).status === 0) return;
  if (spawnSync("apt-get", ["update"], { stdio: "inherit", env }).status !== 0) {
    fail("`apt-get update` failed", "check the machine's package sources, then `npm test` again");
  }
  if (spawnSync("apt-get", args, { stdio: "inherit", env }).status !== 0) {
    fail(`\`apt-get install ${packages.join(" ")}\` failed`, "read apt-get's output above");
  }
}

/**
 * Whether something accepts TCP connections there (the server may still refuse a login: the
 * suite says so). The probe runs in a child so this script stays synchronous top to bottom.
 */
function answers(host, port) {
  const probe = spawnSync(
    process.execPath,
    [
      "-e",
      `const s=require("node:net").connect(${port},${JSON.stringify(host)});` +
        "s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),2000);",
    ],
    { stdio: "ignore" },
  );
  return probe.status === 0;
}

function waitFor(condition, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    spawnSync("sleep", ["0.5"]);
  }
  return condition();
}

function postgresTarget(url) {
  const parsed = new URL(url ?? "postgres://postgres@127.0.0.1:5432/test");
  const host = parsed.hostname || "127.0.0.1";
  return {
    host,
    port: Number(parsed.port || 5432),
    database: parsed.pathname.replace(/^\//, "") || "test",
    local: ["127.0.0.1", "localhost", "::1", "[::1]"].includes(host),
  };
}

function say(line) {
  console.log(`test prerequisites: ${line}`);
}

function fail(message, hint) {
  console.error(`error[${CODE}]: ${message}\nhint: ${hint}`);
  process.exit(2);
}

main();

/**
 * `loopd doctor`'s checks of what a user can get wrong (#22), each failing case with real
 * parts: files with wrong permissions, a PostgreSQL server that is not there, a store whose
 * schema is behind or ahead, a daemon of another version, no service, PostgreSQL's clock read
 * from a host whose clock runs ahead, a webhook endpoint that refuses connections (and one that
 * answers: it gets a HEAD and nothing else), a disk below the threshold. Then the CLI: human
 * and --json output, and the exit code of a failed check.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelChecks } from "../src/app/doctor-channels.js";
import {
  clockSkewCheck,
  diskCheck,
  permissionChecks,
  serviceCheck,
  storeChecks,
  storeUnreachable,
} from "../src/app/doctor-checks.js";
import { openStoreFromEnv } from "../src/app/open-store.js";
import { json, runCli } from "./helpers/cli.js";
import { openTestStore, postgresSuiteEnabled, type TestStore } from "./helpers/stores.js";

const dirs: string[] = [];
function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "loopd-doctor-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("doctor's checks", () => {
  it("home.permissions and token.permissions: wider than 0700 / 0600 is reported with the chmod", () => {
    const home = tempHome();
    chmodSync(home, 0o755);
    writeFileSync(join(home, "api-token"), "secret\n", { mode: 0o644 });
    chmodSync(join(home, "api-token"), 0o644);
    const [dir, token] = permissionChecks(home);
    expect(dir).toMatchObject({ code: "home.permissions", status: "warn", hint: `chmod 700 ${home}` });
    expect(dir!.message).toContain("is 0755");
    expect(token).toMatchObject({
      code: "token.permissions",
      status: "fail",
      hint: `chmod 600 ${join(home, "api-token")}`,
      error: "LOOPD_HOME_UNUSABLE",
    });
    chmodSync(home, 0o700);
    chmodSync(join(home, "api-token"), 0o600);
    expect(permissionChecks(home).map((entry) => entry.status)).toEqual(["ok", "ok"]);
  });

  it("store.reachable: a PostgreSQL server that is not there fails with the store's error", async () => {
    const error = await openStoreFromEnv(tempHome(), {
      LOOPD_DATABASE_URL: "postgres://loopd@127.0.0.1:1/none",
    }).catch((caught: unknown) => caught);
    const check = storeUnreachable(error);
    expect(check).toMatchObject({
      code: "store.reachable",
      status: "fail",
      error: "LOOPD_STORE_UNAVAILABLE",
    });
    expect(check.hint).toBeTruthy();
  });

  it("store.schema: pending migrations warn, a newer store fails; daemon.version: another version warns", async () => {
    const target = await openTestStore("sqlite");
    const home = target.env.LOOPD_HOME!;
    try {
      const latest = Number(
        (
          await target.store.db
            .selectFrom("schema_migrations")
            .select("version")
            .orderBy("version", "desc")
            .executeTakeFirstOrThrow()
        ).version,
      );
      await target.store.db.deleteFrom("schema_migrations").where("version", "=", latest).execute();
      const pending = (await storeChecks(target.store, home, "1.0.0")).find(
        (entry) => entry.code === "store.schema",
      );
      expect(pending).toMatchObject({
        status: "warn",
        message: `1 migration(s) pending (schema ${latest - 1} of ${latest})`,
      });

      await target.store.db
        .insertInto("schema_migrations")
        .values([
          { version: latest, name: "back", applied_at: 0 },
          { version: latest + 1, name: "from-the-future", applied_at: 0 },
        ])
        .execute();
      const ahead = (await storeChecks(target.store, home, "1.0.0")).find(
        (entry) => entry.code === "store.schema",
      );
      expect(ahead).toMatchObject({ status: "fail", error: "LOOPD_STORE_TOO_NEW" });

      // A live process (this one) recorded as the daemon, started from an older loopd.
      writeFileSync(
        join(home, "daemon.json"),
        JSON.stringify({
          pid: process.pid,
          url: "http://127.0.0.1:1",
          workerId: "w",
          version: "0.9.0",
          startedAt: "",
        }),
      );
      const version = (await storeChecks(target.store, home, "1.0.0")).find(
        (entry) => entry.code === "daemon.version",
      );
      expect(version).toMatchObject({ status: "warn" });
      expect(version!.message).toContain("runs 0.9.0; this is 1.0.0");
    } finally {
      await target.dispose();
    }
  });

  it("service: none installed and no serve running warns with the install command", async () => {
    const config = tempHome();
    const check = await serviceCheck({ HOME: config, XDG_CONFIG_HOME: config }, tempHome());
    expect(check).toMatchObject({ code: "service", status: "warn" });
    expect(check.hint).toContain("loopd service install");
  });

  it("disk.space: under the threshold warns with where and how much", async () => {
    const home = tempHome();
    const low = await diskCheck(home, { minFreeBytes: Number.MAX_SAFE_INTEGER, minFreeRatio: 0.05 });
    expect(low).toMatchObject({ code: "disk.space", status: "warn" });
    expect(low.message).toMatch(/free of .* at /);
    expect((await diskCheck(home, { minFreeBytes: 0, minFreeRatio: 0 })).status).toBe("ok");
  });

  describe("notify.reachable", () => {
    let server: Server;
    let url: string;
    const seen: Array<{ method: string; bytes: number }> = [];

    beforeAll(async () => {
      server = createServer((request, response) => {
        let bytes = 0;
        request.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
        request.on("end", () => {
          seen.push({ method: request.method ?? "", bytes });
          response.writeHead(request.url === "/broken" ? 503 : 405);
          response.end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("probes with a bodiless HEAD (nothing sent); a refused connection fails, a 5xx warns", async () => {
      // A port nothing listens on: bound, then released.
      const gone = createServer();
      await new Promise<void>((resolve) => gone.listen(0, "127.0.0.1", resolve));
      const refusedPort = (gone.address() as AddressInfo).port;
      await new Promise<void>((resolve) => gone.close(() => resolve()));

      const checks = await channelChecks({
        ops: { type: "webhook", url: `${url}/hook`, secret: "x".repeat(32) },
        team: { type: "slack", url: `${url}/broken` },
        down: { type: "discord", url: `http://127.0.0.1:${refusedPort}/api/webhooks/1/secret` },
        me: { type: "desktop" },
      });
      expect(checks.map((entry) => [entry.subject, entry.status])).toEqual([
        ["ops", "ok"],
        ["team", "warn"],
        ["down", "fail"],
      ]);
      expect(checks[2]).toMatchObject({ code: "notify.reachable", error: "LOOPD_DELIVERY_FAILED" });
      expect(checks[2]!.message).toContain("ECONNREFUSED");
      // The path (Discord's and Slack's secret) stays out of the message.
      expect(checks[2]!.message).not.toContain("secret");
      expect(seen).toEqual([
        { method: "HEAD", bytes: 0 },
        { method: "HEAD", bytes: 0 },
      ]);
    });
  });
});

describe.runIf(await postgresSuiteEnabled("doctor's clock check"))("clock.skew against PostgreSQL", () => {
  let target: TestStore;
  beforeAll(async () => {
    target = await openTestStore("postgres");
  });
  afterAll(() => target?.dispose());

  it("warns when this host's clock and PostgreSQL's differ by more than 2 s", async () => {
    expect(await clockSkewCheck(target.store)).toMatchObject({ code: "clock.skew", status: "ok" });
    // This host's clock 10 s ahead of the database's.
    const skewed = await clockSkewCheck(target.store, () => Date.now() + 10_000);
    expect(skewed).toMatchObject({ code: "clock.skew", status: "warn" });
    expect(skewed.message).toMatch(/^PostgreSQL's clock is -(9|10)s/);
    expect(skewed.hint).toContain("NTP");
  });
});

describe("loopd doctor with the checks", () => {
  it("prints every check and fails on a readable API token (--json too)", async () => {
    const home = tempHome();
    const env = { LOOPD_HOME: home, XDG_CONFIG_HOME: home };
    writeFileSync(join(home, "api-token"), "secret\n");
    chmodSync(join(home, "api-token"), 0o644);
    const human = await runCli(["doctor"], { env, cwd: home });
    expect(human.code).toBe(2);
    expect(human.stdout).toMatch(/^✓ home\.permissions +.* is 0700$/m);
    expect(human.stdout).toMatch(/^✗ token\.permissions +.*other users can read the API token$/m);
    expect(human.stdout).toContain(`fix: chmod 600 ${join(home, "api-token")}`);
    expect(human.stdout).toMatch(/^✓ store\.reachable +sqlite /m);
    expect(human.stderr).toContain("error[LOOPD_HOME_UNUSABLE]");

    const result = await runCli(["doctor", "--json"], { env, cwd: home });
    expect(result.code).toBe(2);
    const report = json<{ ok: boolean; checks: Array<{ code: string; status: string }> }>(result);
    expect(report.ok).toBe(false);
    expect(report.checks.map((entry) => entry.code)).toEqual(
      expect.arrayContaining([
        "home.permissions",
        "token.permissions",
        "store.reachable",
        "store.schema",
        "clock.skew",
        "service",
        "disk.space",
      ]),
    );
    expect(report.checks.find((entry) => entry.code === "token.permissions")?.status).toBe("fail");
  }, 150_000);
});

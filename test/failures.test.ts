/**
 * When runs fail, as a user meets it (issue 14, parts 4 and 5), with `loopd serve` and a real
 * Standard Webhooks receiver:
 * - every failed run keeps its code's specific hint — in `run --wait` (human and `--json`),
 *   the API's run view and the webhook payload — and the log command is added, not swapped in;
 * - five failed runs in a row pause a routine, which sends `routine.paused` with the reason
 *   and the fix; a success in between resets the count;
 * - a routine nothing schedules (a store served only by `loopd worker`) is a misfire: flagged
 *   by `ls`, `show` and `doctor`, and notified once, not once per sweep or per process.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLedger } from "../src/store/ledger.js";
import { openStore } from "../src/store/store.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { dropSchema, postgresSuiteEnabled, TEST_POSTGRES_URL } from "./helpers/stores.js";
import { waitFor } from "./helpers/wait.js";

const SECRET = `whsec_${Buffer.from("failures-secret-32-bytes-long-ok").toString("base64")}`;

interface WebhookEvent {
  id: string;
  type: string;
  routine: string | null;
  runId: number | null;
  payload: Record<string, unknown> & { error?: { code: string; message: string; hint?: string } };
}

interface RunError {
  code: string;
  message: string;
  hint: string;
  details: { run: { id: number; error: { code: string; message: string; hint: string | null } } };
}

/** A Standard Webhooks receiver that verifies signatures and dedupes on the event id. */
async function webhookReceiver(): Promise<{ url: string; events: WebhookEvent[]; server: Server }> {
  const events: WebhookEvent[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      try {
        const event = new Webhook(SECRET).verify(body, headers) as WebhookEvent;
        if (!events.some((seen) => seen.id === event.id)) events.push(event);
        res.writeHead(204).end();
      } catch {
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`, events, server };
}

describe("failed runs with `loopd serve`: hints everywhere, the circuit breaker", () => {
  let cwd: string;
  let env: Record<string, string>;
  let daemon: LoopdProcess;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let apiUrl: string;
  let token: string;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd });
  const runError = (result: CliResult) => json<{ error: RunError }>(result).error;
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${apiUrl}/api/v1${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  };
  const webhookFor = (type: string, runId: number) =>
    waitFor(
      () => hook.events.find((event) => event.type === type && event.runId === runId),
      `${type} #${runId}`,
    );

  beforeAll(async () => {
    hook = await webhookReceiver();
    cwd = mkdtempSync(join(tmpdir(), "loopd-failures-"));
    writeFileSync(
      join(cwd, "loopd.yaml"),
      `channels:
  hook: { type: webhook, url: "${hook.url}", secret: "${SECRET}" }
routines:
  - name: broken
    command: 'echo "tests red" >&2; exit 1'
    notify: { to: hook, on: [failure] }
  - name: flaky
    command: test -f ok
    pauseAfter: 2
    notify: { to: hook, on: [failure] }
  - name: slow
    command: sleep 10
    timeout: 1s
    notify: { to: hook, on: [failure] }
  - name: busy
    command: 'while [ ! -f done ]; do sleep 0.05; done'
    overlap: skip
  - name: pricey
    harness: builtin
    model: "openai-compatible:some-model"
    prompt: Say hi.
    budget: { perDay: 0.01 }
    notify: { to: hook, on: [failure] }
`,
    );
    const home = join(cwd, ".loopd");
    env = { LOOPD_HOME: home };
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], { env, cwd });
    apiUrl = String((await daemon.waitFor((event) => event.type === "ready")).url);
    token = readFileSync(join(home, "api-token"), "utf8").trim();
  });
  afterAll(async () => {
    await daemon?.stop();
    hook?.server.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("a failed command keeps LOOPD_RUN_FAILED's hint in run --json, the API and the webhook", async () => {
    const failed = await loopd("run", "broken", "--wait", "--json");
    expect(failed.code, failed.stdout).toBe(1);
    const error = runError(failed);
    const runId = error.details.run.id;
    const hint = `Read the run's log with \`loopd logs ${runId}\`.`;
    // The hint names the log already: nothing to add.
    expect(error).toMatchObject({ code: "LOOPD_RUN_FAILED", hint });
    expect(error.details.run.error).toEqual({ code: "LOOPD_RUN_FAILED", message: expect.any(String), hint });

    const view = await api<{ error: { code: string; hint: string } }>(`/runs/${runId}`);
    expect(view.error).toMatchObject({ code: "LOOPD_RUN_FAILED", hint });
    expect((await webhookFor("run.failed", runId)).payload.error).toMatchObject({
      code: "LOOPD_RUN_FAILED",
      hint,
    });
  });

  it("a timeout says to raise `timeout`, and run --wait adds the log command after it", async () => {
    const human = await loopd("run", "slow", "--wait");
    expect(human.code).toBe(1);
    const runId = Number(/#(\d+) timed out/.exec(human.stdout)?.[1]);
    expect(human.stderr).toContain("error[LOOPD_RUN_TIMEOUT]");
    expect(human.stderr).toContain(
      `hint: Raise \`timeout\` in loopd.yaml or make the task smaller. See the whole log with \`loopd logs ${runId}\`.`,
    );

    const viaJson = runError(await loopd("run", "slow", "--wait", "--json"));
    expect(viaJson.code).toBe("LOOPD_RUN_TIMEOUT");
    expect(viaJson.details.run.error.hint).toBe("Raise `timeout` in loopd.yaml or make the task smaller.");
    const view = await api<{ error: { hint: string } }>(`/runs/${viaJson.details.run.id}`);
    expect(view.error.hint).toBe("Raise `timeout` in loopd.yaml or make the task smaller.");
    const event = await webhookFor("run.timed_out", viaJson.details.run.id);
    expect(event.payload.error).toMatchObject({
      code: "LOOPD_RUN_TIMEOUT",
      hint: "Raise `timeout` in loopd.yaml or make the task smaller.",
    });
  });

  it("a manual run skipped by overlap says which run blocks it and how to wait, not 'read the log'", async () => {
    const first = json<{ runId: number }>(await loopd("run", "busy", "--json")).runId;
    await waitFor(
      async () => (await api<{ status: string }>(`/runs/${first}`)).status === "running",
      "busy runs",
    );
    try {
      const skipped = await loopd("run", "busy", "--wait", "--json");
      expect(skipped.code).toBe(1);
      const error = runError(skipped);
      expect(error.code).toBe("LOOPD_RUN_SKIPPED");
      expect(error.message).toContain(`run ${first} still running`);
      expect(error.hint).toContain(`loopd logs ${first} -f`);
      expect(error.hint).toContain("overlap: queue");
      expect(error.hint).not.toContain("Read the run's log");

      const human = await loopd("run", "busy", "--wait");
      expect(human.stdout).toMatch(/busy #\d+ skipped: overlap skip/);
      expect(human.stderr).toContain("error[LOOPD_RUN_SKIPPED]");
    } finally {
      writeFileSync(join(cwd, "done"), "");
    }
    await waitFor(
      async () => (await api<{ status: string }>(`/runs/${first}`)).status === "succeeded",
      "busy ends",
    );
    // A shell run called no model: show-run says so instead of rows of zero tokens.
    const shown = (await loopd("show-run", String(first))).stdout;
    expect(shown).toContain("cost:      — no model calls");
    expect(shown).not.toContain("tokens:");
  });

  it("a budget refusal names the setting to raise and the numbers, with exit code 5", async () => {
    // Today's $0.01 is already spent: even an estimate capped at the budget has no room.
    await spendToday("pricey", 0.01);
    const refused = await loopd("run", "pricey", "--wait", "--json");
    expect(refused.code, refused.stdout).toBe(5);
    const error = runError(refused);
    const runId = error.details.run.id;
    expect(error.code).toBe("LOOPD_BUDGET_EXCEEDED");
    expect(error.details.run.error.message).toContain("(budget.perDay) of $0.01 has $0.01 spent");
    expect(error.details.run.error.hint).toContain("Raise `budget.perDay` of pricey to at least $0.02");
    expect((await api<{ error: { hint: string } }>(`/runs/${runId}`)).error.hint).toBe(
      error.details.run.error.hint,
    );
    expect((await webhookFor("run.failed", runId)).payload.error?.hint).toBe(error.details.run.error.hint);
  });

  async function spendToday(routine: string, costUsd: number): Promise<void> {
    const store = await openStore({ kind: "sqlite", file: join(cwd, ".loopd", "loopd.db") });
    try {
      const { id } = await store.db
        .selectFrom("routines")
        .select("id")
        .where("name", "=", routine)
        .executeTakeFirstOrThrow();
      await recordLedger(store.db, [
        {
          at: Date.now(),
          routineId: Number(id),
          routineName: routine,
          runId: null,
          attempt: null,
          harness: "builtin",
          model: "some-model",
          tier: null,
          usage: { tokensIn: 1000, tokensOut: 100, tokensCached: 0, tokensReasoning: 0 },
          costUsd,
          costSource: "priced",
        },
      ]);
    } finally {
      await store.close();
    }
  }

  it("five failed runs in a row pause the routine and send routine.paused with the reason and the fix", async () => {
    // `broken` failed once above: four more make five.
    for (let i = 0; i < 4; i++) expect((await loopd("run", "broken", "--wait", "--json")).code).toBe(1);
    const routine = json<{ state: string; pausedCode: string; pausedReason: string; pauseHint: string }>(
      await loopd("show", "broken", "--json"),
    );
    expect(routine).toMatchObject({ state: "paused", pausedCode: "LOOPD_ROUTINE_FAILING" });
    expect(routine.pausedReason).toMatch(/^5 failed runs in a row; the last: LOOPD_RUN_FAILED: /);
    expect(routine.pauseHint).toBe(
      "Read the last run's error with `loopd show broken`, fix the cause, then `loopd resume broken`.",
    );

    const paused = await waitFor(
      () => hook.events.find((event) => event.type === "routine.paused" && event.routine === "broken"),
      "routine.paused",
    );
    expect(paused.payload).toMatchObject({
      reason: "failing",
      code: "LOOPD_ROUTINE_FAILING",
      failures: 5,
      hint: routine.pauseHint,
      error: { code: "LOOPD_RUN_FAILED" },
    });
    const shown = await loopd("show", "broken");
    expect(shown.stdout).toContain(`hint: ${routine.pauseHint}`);
  });

  it("a success in between resets the count", async () => {
    const run = () => loopd("run", "flaky", "--wait", "--json");
    expect((await run()).code).toBe(1);
    writeFileSync(join(cwd, "ok"), "");
    expect((await run()).code).toBe(0);
    unlinkSync(join(cwd, "ok"));
    expect((await run()).code).toBe(1);
    expect(
      json<{ state: string; health: { consecutiveFailures: number } }>(
        await loopd("show", "flaky", "--json"),
      ),
    ).toMatchObject({ state: "active", health: { consecutiveFailures: 1 } });
    // pauseAfter: 2 — the second failure in a row pauses it.
    expect((await run()).code).toBe(1);
    expect(json<{ state: string; pausedCode: string }>(await loopd("show", "flaky", "--json"))).toMatchObject(
      {
        state: "paused",
        pausedCode: "LOOPD_ROUTINE_FAILING",
      },
    );
  });
});

const POSTGRES = await postgresSuiteEnabled("misfires with `loopd worker`");

describe.skipIf(!POSTGRES)("a misfire: a store nothing schedules (PostgreSQL, workers only)", () => {
  let cwd: string;
  let env: Record<string, string>;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  const schema = `loopd_misfire_${Date.now().toString(36)}`;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd });
  let worker: LoopdProcess | undefined;

  beforeAll(async () => {
    hook = await webhookReceiver();
    cwd = mkdtempSync(join(tmpdir(), "loopd-misfire-"));
    env = {
      LOOPD_HOME: join(cwd, ".loopd"),
      LOOPD_DATABASE_URL: TEST_POSTGRES_URL,
      LOOPD_DATABASE_SCHEMA: schema,
    };
    writeFileSync(
      join(cwd, "loopd.yaml"),
      `channels:
  hook: { type: webhook, url: "${hook.url}", secret: "${SECRET}" }
routines:
  - name: hourly-report
    command: echo report
    every: 10m
    notify: { to: hook, on: [failure] }
  - name: fresh
    command: echo fresh
    every: 10m
`,
    );
    expect((await loopd("apply")).code).toBe(0);
    // The scheduler last advanced hourly-report an hour ago; nothing has run it since.
    await setNextDue("hourly-report", Date.now() - 60 * 60_000);
  });

  async function setNextDue(name: string, at: number): Promise<void> {
    const store = await openStore({ kind: "postgres", url: TEST_POSTGRES_URL, schema });
    try {
      await store.db.updateTable("routines").set({ next_due_at: at }).where("name", "=", name).execute();
    } finally {
      await store.close();
    }
  }
  afterAll(async () => {
    await worker?.stop();
    hook?.server.close();
    rmSync(cwd, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it("ls, show and doctor flag it; a worker's sweep notifies it once, a second process stays quiet", async () => {
    const routines = json<Array<{ name: string; misfire: { dueAt: string; hint: string } | null }>>(
      await loopd("ls", "--json"),
    );
    expect(routines.find((routine) => routine.name === "fresh")?.misfire).toBeNull();
    expect(routines.find((routine) => routine.name === "hourly-report")?.misfire).toMatchObject({
      hint: expect.stringContaining("loopd serve"),
    });
    expect((await loopd("ls")).stdout).toMatch(/hourly-report .*missed 1h ago.*misfire/);
    expect((await loopd("show", "hourly-report")).stdout).toContain("and nothing ran");
    const doctor = json<{ misfires: Array<{ routine: string; hint: string }> }>(
      await loopd("doctor", "--json"),
    );
    expect(doctor.misfires).toEqual([
      expect.objectContaining({ routine: "hourly-report", hint: expect.stringContaining("loopd serve") }),
    ]);

    worker = spawnLoopd(["worker"], { env, cwd });
    const misfired = await worker.waitFor((event) => event.type === "misfired");
    expect(misfired.routines).toEqual([expect.objectContaining({ routine: "hourly-report" })]);
    const event = await waitFor(
      () => hook.events.find((seen) => seen.type === "routine.misfired"),
      "the webhook",
    );
    expect(event).toMatchObject({
      routine: "hourly-report",
      payload: { code: "LOOPD_ROUTINE_MISFIRE", hint: expect.stringContaining("loopd serve") },
    });

    // Another worker process sweeps on its first pass too: hourly-report was already told.
    // `fresh` misfires meanwhile, so its notice shows that the sweep did look.
    await worker.stop();
    await setNextDue("fresh", Date.now() - 60 * 60_000);
    worker = spawnLoopd(["worker"], { env, cwd });
    const second = await worker.waitFor((event) => event.type === "misfired");
    expect(second.routines).toEqual([expect.objectContaining({ routine: "fresh" })]);
    const deliveries = json<Array<{ type: string; routine: string; channel: string }>>(
      await loopd("deliveries", "--json"),
    );
    // One outbox row per misfire (`fresh` asked for no channel: recorded with channel "").
    expect(
      deliveries
        .filter((delivery) => delivery.type === "routine.misfired")
        .map((delivery) => [delivery.routine, delivery.channel])
        .sort(),
    ).toEqual([
      ["fresh", ""],
      ["hourly-report", "hook"],
    ]);
    expect(hook.events.filter((seen) => seen.type === "routine.misfired")).toHaveLength(1);
    // Seven CLI processes and two workers started and stopped: room for a busy 2-core machine.
  }, 90_000);
});

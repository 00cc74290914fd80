/**
 * `npm run bench:gateway`: what the metering gateway (src/gateway) adds to a model request,
 * against the named baseline "direct" (the same client to the same fake model server, no
 * gateway), run in the same process. The client runs on the main thread, the fake model
 * server and the gateway on a worker thread each (bench/lib/gateway-worker.ts).
 *
 * - Latency: requests one at a time, direct and gateway alternating (so drift hits both
 *   alike), after a warm-up; the time to the answer's last byte (and, streamed, to its first),
 *   p50/p99 of each and of the per-pair difference ("added").
 * - Throughput: 32 requests in flight for a fixed number of requests; requests per second.
 *
 * A benchmark, not a test: prints Markdown and writes bench/results/gateway.md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { WorkerMessage } from "./lib/gateway-worker.js";

const WARMUP = 200;
const SEQUENTIAL = 1_000;
const IN_FLIGHT = 32;
const CONCURRENT = 4_000;

interface Mode {
  name: string;
  stream: boolean;
  /** Size of the request body: agent CLIs send their whole conversation and tool list each turn. */
  bodyBytes: number;
}

const MODES: Mode[] = [
  { name: "JSON answer, 1 KB request", stream: false, bodyBytes: 1_000 },
  { name: "SSE answer, 1 KB request", stream: true, bodyBytes: 1_000 },
  { name: "SSE answer, 90 KB request (a Claude Code turn)", stream: true, bodyBytes: 90_000 },
];

interface Timing {
  firstByteMs: number;
  totalMs: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

function body(mode: Mode): Buffer {
  const base = {
    model: "claude-haiku-4-5",
    max_tokens: 4096,
    stream: mode.stream,
    tools: [{ name: "Write", description: "write a file", input_schema: { type: "object" } }],
    messages: [{ role: "user", content: "" }],
  };
  const padding = Math.max(0, mode.bodyBytes - JSON.stringify(base).length);
  base.messages[0]!.content = "x".repeat(padding);
  return Buffer.from(JSON.stringify(base));
}

/** One POST to `${base}/v1/messages`, read to the end. */
function request(base: string, payload: Buffer): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs = -1;
    const req = http.request(
      `${base}/v1/messages`,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": payload.length,
          "x-api-key": "sk-ant-bench",
          "anthropic-version": "2023-06-01",
        },
      },
      (res) => {
        res.on("data", () => {
          if (firstByteMs < 0) firstByteMs = performance.now() - started;
        });
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          else resolve({ firstByteMs, totalMs: performance.now() - started });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

function startWorker(role: "model" | "gateway"): Promise<{ worker: Worker; url: string }> {
  const worker = new Worker(new URL("./lib/gateway-worker.js", import.meta.url), { workerData: { role } });
  return new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (message: WorkerMessage) => {
      if (message.kind === "ready") resolve({ worker, url: message.url });
    });
  });
}

function ask<T extends WorkerMessage>(worker: Worker, message: unknown, kind: T["kind"]): Promise<T> {
  return new Promise((resolve) => {
    const listen = (answer: WorkerMessage) => {
      if (answer.kind !== kind) return;
      worker.off("message", listen);
      resolve(answer as T);
    };
    worker.on("message", listen);
    worker.postMessage(message);
  });
}

interface LatencyResult {
  mode: Mode;
  direct: Timing[];
  gateway: Timing[];
}

async function latency(mode: Mode, direct: string, gateway: string): Promise<LatencyResult> {
  const payload = body(mode);
  for (let i = 0; i < WARMUP; i++) {
    await request(direct, payload);
    await request(gateway, payload);
  }
  const result: LatencyResult = { mode, direct: [], gateway: [] };
  for (let i = 0; i < SEQUENTIAL; i++) {
    // Alternate which goes first, so neither always finds the other's warm caches.
    if (i % 2 === 0) {
      result.direct.push(await request(direct, payload));
      result.gateway.push(await request(gateway, payload));
    } else {
      result.gateway.push(await request(gateway, payload));
      result.direct.push(await request(direct, payload));
    }
  }
  return result;
}

async function throughput(mode: Mode, base: string): Promise<number> {
  const payload = body(mode);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < CONCURRENT) {
        next++;
        await request(base, payload);
      }
    }),
  );
  return CONCURRENT / ((performance.now() - started) / 1000);
}

const ms = (value: number) => value.toFixed(2);

function revision(root: string): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: root,
      encoding: "utf8",
    }).trim();
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--", "src/gateway", "bench/gateway.ts", "bench/lib/gateway-worker.ts"],
      {
        cwd: root,
        encoding: "utf8",
      },
    );
    return dirty.trim() ? `${head} + uncommitted gateway changes` : head;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const began = performance.now();
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const model = await startWorker("model");
  const gatewayWorker = await startWorker("gateway");
  const { baseUrl } = await ask<Extract<WorkerMessage, { kind: "registered" }>>(
    gatewayWorker.worker,
    { kind: "register", upstream: model.url },
    "registered",
  );

  const latencies: LatencyResult[] = [];
  for (const mode of MODES) latencies.push(await latency(mode, model.url, baseUrl));
  const rates: Array<{ mode: Mode; direct: number; gateway: number }> = [];
  for (const mode of MODES) {
    const direct = await throughput(mode, model.url);
    const gateway = await throughput(mode, baseUrl);
    rates.push({ mode, direct, gateway });
  }
  const records = await ask<Extract<WorkerMessage, { kind: "records" }>>(
    gatewayWorker.worker,
    { kind: "records" },
    "records",
  );
  const sent = MODES.length * (WARMUP + SEQUENTIAL + CONCURRENT);

  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const lines = [
    "# loopd metering gateway benchmark",
    "",
    `loopd ${revision(root)} · ${new Date().toISOString().slice(0, 10)} · ${availableParallelism()} cores (${cpu}) · ` +
      `Node ${process.version} · ${((performance.now() - began) / 1000).toFixed(1)} s · load average ${loadavg()[0]!.toFixed(1)} at the end (the machine is shared: p99s move with it)`,
    "",
    "Baseline **direct**: the same HTTP client (Node `http`, keep-alive) to the fake model server " +
      "(test/support/fake-model, Anthropic Messages; the answer is ~2 KB of text, ~130 SSE events when streamed). " +
      "**gateway**: the same requests through `startGateway()` (src/gateway), with a tenant that admits everything and counts records. " +
      "Client, fake model server and gateway each run on their own thread of one process.",
    "",
    `## Latency: one request at a time (${SEQUENTIAL} per route and mode after ${WARMUP} warm-up, routes alternating)`,
    "",
    "| mode | direct p50 | direct p99 | gateway p50 | gateway p99 | added p50 | added p99 | gateway ÷ direct (p50) | first byte added p50 (SSE) |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ...latencies.map(({ mode, direct, gateway }) => {
      const d = direct.map((t) => t.totalMs);
      const g = gateway.map((t) => t.totalMs);
      const added = g.map((value, i) => value - d[i]!);
      const firstAdded = gateway.map((t, i) => t.firstByteMs - direct[i]!.firstByteMs);
      return `| ${mode.name} | ${ms(percentile(d, 50))} ms | ${ms(percentile(d, 99))} ms | ${ms(percentile(g, 50))} ms | ${ms(percentile(g, 99))} ms | **${ms(percentile(added, 50))} ms** | ${ms(percentile(added, 99))} ms | ${(percentile(g, 50) / percentile(d, 50)).toFixed(2)}× | ${mode.stream ? `${ms(percentile(firstAdded, 50))} ms` : "—"} |`;
    }),
    "",
    "Added = gateway minus direct for each alternating pair; its p50/p99 are of those differences. Target: < 5 ms p50 added.",
    "",
    `## Throughput: ${IN_FLIGHT} requests in flight, ${CONCURRENT.toLocaleString("en")} requests per route and mode`,
    "",
    "| mode | direct req/s | gateway req/s | gateway ÷ direct |",
    "|---|--:|--:|--:|",
    ...rates.map(
      ({ mode, direct, gateway }) =>
        `| ${mode.name} | ${Math.round(direct).toLocaleString("en")} | ${Math.round(gateway).toLocaleString("en")} | ${(gateway / direct).toFixed(2)}× |`,
    ),
    "",
    `Every request through the gateway was recorded once: ${records.count.toLocaleString("en")} records for ` +
      `${sent.toLocaleString("en")} requests, ${records.withUsage.toLocaleString("en")} with usage read.`,
    "",
    "Command: `npm run bench:gateway`.",
    "",
  ];
  const markdown = lines.join("\n");
  process.stdout.write(markdown);
  const out = join(root, "bench", "results", "gateway.md");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  process.stderr.write(`wrote ${out}\n`);
  agent.destroy();
  await Promise.all([model.worker.terminate(), gatewayWorker.worker.terminate()]);
}

await main();

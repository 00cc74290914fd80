/**
 * A thread of the gateway benchmark: the fake model server (role `model`) or the metering
 * gateway with a tenant that admits everything and counts records (role `gateway`). Each gets
 * its own event loop, as in production, where the gateway lives in loopd's process, the agent
 * in its own and the model far away; on the same thread the client's work would be billed to
 * the gateway.
 */
import { parentPort, workerData } from "node:worker_threads";
import { startGateway } from "../../src/gateway/server.js";
import { startFakeModelServer } from "../../test/support/fake-model/server.js";

export type WorkerMessage =
  | { kind: "ready"; url: string }
  | { kind: "registered"; baseUrl: string }
  | { kind: "records"; count: number; withUsage: number };

const port = parentPort!;
const role = (workerData as { role: "model" | "gateway" }).role;

if (role === "model") {
  // ~2 KB of text, streamed in 16-character pieces: about 130 SSE events per answer.
  const text = "The quick brown fox jumps over the lazy dog. ".repeat(45);
  const reply = { text, usage: { input: 1200, cached: 300, output: 450 } };
  const model = await startFakeModelServer({ script: () => reply, sideReply: reply });
  port.postMessage({ kind: "ready", url: model.url } satisfies WorkerMessage);
} else {
  const gateway = await startGateway();
  let count = 0;
  let withUsage = 0;
  port.on("message", (message: { kind: "register"; upstream: string } | { kind: "records" }) => {
    if (message.kind === "register") {
      const registration = gateway.register(
        {
          admit: async () => ({ ok: true }),
          record: async (_request, response) => {
            count++;
            if (response.usage !== null) withUsage++;
          },
        },
        [message.upstream],
      );
      port.postMessage({
        kind: "registered",
        baseUrl: registration.baseUrl(message.upstream),
      } satisfies WorkerMessage);
    } else {
      port.postMessage({ kind: "records", count, withUsage } satisfies WorkerMessage);
    }
  });
  port.postMessage({ kind: "ready", url: `http://127.0.0.1:${gateway.port}` } satisfies WorkerMessage);
}

/**
 * A fake model server for tests and benchmarks: real HTTP on 127.0.0.1, speaking the wire
 * protocols real agent CLIs and SDKs use (Anthropic Messages, OpenAI Responses, Chat
 * Completions, Gemini's generateContent, OpenAI's embeddings: openai-embeddings.ts), answering from a per-test script. Agent turns (requests that declare tools)
 * consume the script in order; side requests without tools (titles, summaries) get
 * `sideReply` and do not. Every request is recorded for assertions.
 *
 *   const model = await startFakeModelServer({ script: [
 *     { toolCalls: [{ name: "Write", input: { file_path: "hello.txt", content: "hi" } }] },
 *     { text: "done" },
 *   ] });
 *   env.ANTHROPIC_BASE_URL = model.url;          // Claude Code, @ai-sdk/anthropic (+ /v1)
 *   env.OPENAI_BASE_URL = `${model.url}/v1`;      // codex provider, @ai-sdk/openai
 *
 * The model lists (`GET /v1/models`, Gemini's `GET /v1beta/models`), which clients and
 * loopd's auth probe ask without spending tokens, are recorded apart in `modelListRequests`.
 * `rejectKeys` (or `setRejectKeys(true)`) makes it a server that refuses every key, as the
 * real APIs do: 401 in Anthropic's or OpenAI's error shape, Gemini's 400 API_KEY_INVALID.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleAnthropic, sendError as sendAnthropicError } from "./anthropic.js";
import { handleGemini } from "./gemini.js";
import { handleChatCompletions } from "./openai-chat.js";
import { handleEmbeddings } from "./openai-embeddings.js";
import { handleResponses, openAIError } from "./openai-responses.js";
import type { ModelRequest, Protocol, Script, ScriptedReply } from "./script.js";

export interface FakeModelServerOptions {
  script: Script;
  /** Reply to side requests (no tools), or a function of the request. Default: a short text. */
  sideReply?: ScriptedReply | ((request: ModelRequest) => ScriptedReply);
  /** When the script list runs out: this reply (default `{ text: "done" }`). */
  whenExhausted?: ScriptedReply;
  /** Refuse every key on every route (a revoked key). */
  rejectKeys?: boolean;
  /** Answer to the model lists, e.g. `{ status: 500 }`; default the list with one model. */
  modelList?: ScriptedReply;
}

/** A `GET` of a model list: who asked, and with which headers. */
export interface ModelListRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The API the request's headers and path speak. */
  provider: "anthropic" | "openai" | "gemini";
}

export interface RecordedRequest extends ModelRequest {
  reply: ScriptedReply;
}

export interface FakeModelServer {
  /** http://127.0.0.1:PORT (no /v1). */
  url: string;
  requests: RecordedRequest[];
  /** Agent-turn requests only. */
  turns(): RecordedRequest[];
  /** The model-list requests (not in `requests`). */
  modelListRequests: ModelListRequest[];
  /** Replace the script (and reset the turn counter). */
  setScript(script: Script): void;
  /** Start or stop refusing every key. */
  setRejectKeys(reject: boolean): void;
  close(): Promise<void>;
}

/** Renders one reply for one request in a protocol's wire format. */
export type ProtocolHandler = (request: ModelRequest, reply: ScriptedReply, res: ServerResponse) => void;

const ROUTES: Array<{ path: RegExp; protocol: Protocol; handler: ProtocolHandler }> = [
  { path: /^\/(v1\/)?messages$/, protocol: "anthropic", handler: handleAnthropic },
  { path: /^\/(v1\/)?responses$/, protocol: "openai-responses", handler: handleResponses },
  { path: /^\/(v1\/)?chat\/completions$/, protocol: "openai-chat", handler: handleChatCompletions },
  { path: /^\/(v1\/)?embeddings$/, protocol: "openai-embeddings", handler: handleEmbeddings },
  {
    path: /^\/(v1beta\/|v1\/)?models\/[^/:]+:(stream)?[gG]enerateContent$/,
    protocol: "gemini",
    handler: handleGemini,
  },
];

export async function startFakeModelServer(options: FakeModelServerOptions): Promise<FakeModelServer> {
  let script = options.script;
  let turn = 0;
  let rejectKeys = options.rejectKeys ?? false;
  const requests: RecordedRequest[] = [];
  const modelListRequests: ModelListRequest[] = [];

  const nextReply = (request: ModelRequest): ScriptedReply => {
    if (!request.hasTools) {
      const side = options.sideReply;
      return (
        (typeof side === "function" ? side(request) : side) ?? { text: "ok", usage: { input: 10, output: 2 } }
      );
    }
    if (typeof script === "function") return script(request);
    return script[request.turn] ?? options.whenExhausted ?? { text: "done" };
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(error) } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const raw = await readBody(req);
    const provider = providerOf(path, req.headers);
    if (req.method === "GET" && /^\/(v1\/|v1beta\/)?models$/.test(path)) {
      modelListRequests.push({ path, headers: req.headers, provider });
      const reply = rejectKeys ? { status: 401 } : (options.modelList ?? {});
      if (reply.status !== undefined && reply.status >= 400) {
        sendProviderError(res, provider, reply.status, reply.errorMessage);
      } else if (provider === "gemini") {
        json(res, 200, { models: [{ name: "models/fake-model", displayName: "Fake" }] });
      } else {
        json(res, 200, {
          object: "list",
          data: [{ id: "fake-model", object: "model", created: 0, owned_by: "loopd" }],
        });
      }
      return;
    }
    if (rejectKeys && !ROUTES.some((candidate) => candidate.path.test(path))) {
      sendProviderError(res, provider, 401, undefined);
      return;
    }
    if (req.method === "POST" && /^\/(v1\/)?messages\/count_tokens$/.test(path)) {
      json(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
      return;
    }
    const route = ROUTES.find((candidate) => candidate.path.test(path));
    if (req.method !== "POST" || !route) {
      json(res, 404, {
        error: { type: "not_found_error", message: `fake model server: no route ${req.method} ${path}` },
      });
      return;
    }
    const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    // Codex's code-mode models declare their tools in an `additional_tools` input item instead.
    const hasTools =
      (Array.isArray(body.tools) && body.tools.length > 0) ||
      (Array.isArray(body.input) &&
        body.input.some((item) => (item as { type?: unknown })?.type === "additional_tools"));
    const request: ModelRequest = {
      protocol: route.protocol,
      method: req.method,
      path,
      headers: req.headers,
      body,
      // Gemini names the model and the streaming in the path (`models/<id>:streamGenerateContent`).
      model: typeof body.model === "string" ? body.model : (/\/models\/([^/:]+):/.exec(path)?.[1] ?? ""),
      stream: body.stream === true || path.endsWith(":streamGenerateContent"),
      hasTools,
      turn: hasTools ? turn++ : -1,
    };
    const reply = rejectKeys ? { status: 401 } : nextReply(request);
    requests.push({ ...request, reply });
    if (reply.holdMs !== undefined && !(await held(res, reply.holdMs))) return;
    route.handler(request, reply, res);
  }

  /** Resolves true after `ms`, or false as soon as the client hangs up. */
  function held(res: ServerResponse, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(true), ms);
      res.once("close", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    turns: () => requests.filter((request) => request.hasTools),
    modelListRequests,
    setScript(next) {
      script = next;
      turn = 0;
    },
    setRejectKeys(reject) {
      rejectKeys = reject;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Which API a request speaks: Anthropic's headers, Gemini's key header or path, else OpenAI. */
function providerOf(path: string, headers: IncomingMessage["headers"]): ModelListRequest["provider"] {
  if (headers["x-api-key"] !== undefined || headers["anthropic-version"] !== undefined) return "anthropic";
  if (headers["x-goog-api-key"] !== undefined || path.startsWith("/v1beta/")) return "gemini";
  return "openai";
}

/** An error in the provider's own shape; Gemini refuses a bad key with 400 API_KEY_INVALID. */
function sendProviderError(
  res: ServerResponse,
  provider: ModelListRequest["provider"],
  status: number,
  message: string | undefined,
): void {
  if (provider === "anthropic") {
    sendAnthropicError(res, status, message);
    return;
  }
  if (provider === "openai") {
    json(res, status, openAIError(status, message));
    return;
  }
  const invalidKey = status === 401;
  json(res, invalidKey ? 400 : status, {
    error: {
      code: invalidKey ? 400 : status,
      message:
        message ?? (invalidKey ? "API key not valid. Please pass a valid API key." : "Internal error."),
      status: invalidKey ? "INVALID_ARGUMENT" : "INTERNAL",
      details: invalidKey
        ? [
            {
              "@type": "type.googleapis.com/google.rpc.ErrorInfo",
              reason: "API_KEY_INVALID",
              domain: "googleapis.com",
            },
          ]
        : [],
    },
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Starts an SSE response; returns a writer for `event:`/`data:` frames. */
export function sse(res: ServerResponse): { send(event: string | null, data: unknown): void; end(): void } {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  return {
    send(event, data) {
      res.write(
        `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`,
      );
    },
    end() {
      res.end();
    },
  };
}

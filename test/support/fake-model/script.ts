/**
 * What a scripted model says. A test gives the fake model server a list of replies (one per
 * agent turn) or a function of the request; each protocol module renders a reply in its own
 * wire format (Anthropic Messages, OpenAI Responses, Chat Completions).
 */

export type Protocol = "anthropic" | "openai-responses" | "openai-chat" | "gemini" | "openai-embeddings";

export interface ToolCall {
  /** The tool's name as the client declared it (`Write`, `Bash`, `shell`, `write_file`, …). */
  name: string;
  input: Record<string, unknown>;
  /** Call id; generated when omitted. */
  id?: string;
}

export interface ScriptedUsage {
  input?: number;
  output?: number;
  cached?: number;
  reasoning?: number;
}

export interface ScriptedReply {
  text?: string;
  toolCalls?: ToolCall[];
  usage?: ScriptedUsage;
  /** Answer with this HTTP status and a protocol-shaped error body instead (401 → auth error). */
  status?: number;
  errorMessage?: string;
  /**
   * Hold the answer this long, or until the client hangs up: a slow model, so a client stopped
   * while this request is in flight never gets it.
   */
  holdMs?: number;
}

export interface ModelRequest {
  protocol: Protocol;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  /** The client declared tools: an agent turn. Requests without tools are side requests (titles, summaries). */
  hasTools: boolean;
  /** Zero-based index among agent turns (requests with tools); -1 for side requests. */
  turn: number;
}

export type Script = ScriptedReply[] | ((request: ModelRequest) => ScriptedReply);

export const DEFAULT_USAGE: Required<ScriptedUsage> = { input: 100, output: 20, cached: 0, reasoning: 0 };

export function usageOf(reply: ScriptedReply): Required<ScriptedUsage> {
  return { ...DEFAULT_USAGE, ...reply.usage };
}

let nextId = 1;
export function callId(prefix: string): string {
  return `${prefix}_${String(nextId++).padStart(6, "0")}`;
}

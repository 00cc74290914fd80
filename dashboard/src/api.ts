/**
 * Typed client for `/api/v1`: one function per endpoint, every request authenticated with
 * the stored token. Failures become an ApiError carrying the server's `{ code, message, hint }`.
 */
import { readToken } from "./token.js";
import type {
  BudgetLine,
  CheckView,
  CostKey,
  CostsView,
  DeliveryView,
  Health,
  RoutineDetail,
  RoutineRow,
  RoutineView,
  RunDetail,
  RunEvent,
  RunView,
} from "./types.js";

export const API_BASE = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | null,
  ) {
    super(message);
  }
}

type UnauthorizedListener = () => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called on every 401, so the app can ask for a token wherever the request came from. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

async function request(method: string, path: string, body?: unknown): Promise<Response> {
  // X-Loopd-Client: the daemon refuses state changes a web page could send without a preflight.
  const headers: Record<string, string> = { accept: "application/json", "x-loopd-client": "dashboard" };
  const token = readToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`${API_BASE}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new ApiError(
      0,
      "LOOPD_UNREACHABLE",
      `cannot reach the daemon: ${String(error)}`,
      "Is `loopd serve` running?",
    );
  }
  if (response.ok) return response;
  if (response.status === 401) for (const listener of unauthorizedListeners) listener();
  throw await toApiError(response);
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as {
      error?: { code?: string; message?: string; hint?: string | null };
    };
    if (error) {
      return new ApiError(
        response.status,
        error.code ?? `HTTP_${response.status}`,
        error.message ?? response.statusText,
        error.hint ?? null,
      );
    }
  } catch {
    // not our JSON error shape (a proxy page, a crash): fall through to the raw text
  }
  return new ApiError(
    response.status,
    `HTTP_${response.status}`,
    text.slice(0, 300) || response.statusText,
    null,
  );
}

async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await request(method, path, body);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

const seg = encodeURIComponent;

export const api = {
  health: () => json<Health>("GET", "/health"),

  routines: async () => (await json<{ routines: RoutineRow[] }>("GET", "/routines")).routines,
  routine: (name: string) => json<RoutineDetail>("GET", `/routines/${seg(name)}`),
  pause: (name: string, reason?: string) =>
    json<RoutineView>("POST", `/routines/${seg(name)}/pause`, reason ? { reason } : {}),
  resume: (name: string) => json<RoutineView>("POST", `/routines/${seg(name)}/resume`, {}),
  runNow: (name: string, text?: string) =>
    json<{ runId: number; url: string }>("POST", `/routines/${seg(name)}/run`, text ? { text } : {}),
  removeRoutine: (name: string) => json<unknown>("DELETE", `/routines/${seg(name)}`),

  runs: async (filter: { routine?: string; status?: string; limit?: number; before?: number } = {}) =>
    (await json<{ runs: RunView[] }>("GET", `/runs${query(filter)}`)).runs,
  run: (id: number) => json<RunDetail>("GET", `/runs/${id}`),
  runEvents: async (id: number) => (await json<{ events: RunEvent[] }>("GET", `/runs/${id}/events`)).events,
  runDiff: async (id: number) => (await request("GET", `/runs/${id}/diff`)).text(),

  costs: (by: CostKey, options: { since?: string; routine?: string } = {}) =>
    json<CostsView>("GET", `/costs${query({ by, since: options.since ?? "30d", routine: options.routine })}`),
  budgets: async () => (await json<{ budgets: BudgetLine[] }>("GET", "/budgets")).budgets,
  checks: async () => (await json<{ checks: CheckView[] }>("GET", "/checks?all=1")).checks,
  deliveries: async (limit = 50) =>
    (await json<{ deliveries: DeliveryView[] }>("GET", `/deliveries${query({ limit })}`)).deliveries,
};

/**
 * The portable form of a loopd home (`loopd export` / `loopd import`): one JSON document,
 * versioned on its own (`version`), independent of the store's schema version and dialect,
 * so a SQLite home moves to PostgreSQL and back. Times are UTC epoch milliseconds, as stored.
 *
 * What it holds is a home's state, not its history: the applied settings, routines (watches
 * are routines with a `check`, their verdict state included), each routine's memory and its
 * built-in loop's per-item state, and the cost ledger. Runs, their events and artifacts, the
 * outbox, test results and feedback items are not in it (`loopd backup` copies everything).
 * Rows refer to routines by name; store ids never leave the store, except a ledger row's
 * `runId`, kept as an opaque key that groups one attempt's rows.
 */
import { z } from "zod";
import { LoopdError } from "./errors.js";
import { OUTCOMES, ROUTINE_STATES } from "./run-status.js";

export const EXPORT_FORMAT = "loopd-export";
/** Bump on any change an older loopd could not read; keep reading the versions before it. */
export const EXPORT_VERSION = 1;

const epochMs = z.number().int();
const nullableMs = epochMs.nullable();
const count = z.number().int().nonnegative();

export const exportedSettingSchema = z.strictObject({
  key: z.string().min(1),
  value: z.unknown(),
  updatedAt: epochMs,
});

export const exportedRoutineSchema = z.strictObject({
  name: z.string().min(1),
  source: z.string().nullable(),
  /** The stored RoutineSpec, as the exporting loopd wrote it. */
  spec: z.record(z.string(), z.unknown()),
  specHash: z.string(),
  state: z.enum(ROUTINE_STATES),
  pausedReason: z.string().nullable(),
  pausedCode: z.string().nullable(),
  nextDueAt: nullableMs,
  scheduledRuns: count,
  lastRunAt: nullableMs,
  lastOutcome: z.enum(OUTCOMES).nullable(),
  lastErrorCode: z.string().nullable(),
  lastErrorMessage: z.string().nullable(),
  lastVerdict: z.enum(["satisfied", "unsatisfied"]).nullable(),
  unchangedVerdicts: count,
  consecutiveFailures: count,
  consecutiveAuthFailures: count,
  misfireNotifiedAt: nullableMs,
  lastSuccessAt: nullableMs,
  createdAt: epochMs,
  updatedAt: epochMs,
});

export const exportedMemorySchema = z.strictObject({
  routine: z.string().min(1),
  content: z.string(),
  updatedAt: epochMs,
});

export const exportedLoopItemSchema = z.strictObject({
  routine: z.string().min(1),
  item: z.string(),
  state: z.unknown(),
  updatedAt: epochMs,
});

export const exportedLedgerRowSchema = z.strictObject({
  at: epochMs,
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  routine: z.string(),
  runId: z.number().int().nullable(),
  attempt: z.number().int().nullable(),
  harness: z.string(),
  model: z.string(),
  tier: z.string().nullable(),
  tokensIn: count,
  tokensOut: count,
  tokensCached: count,
  tokensReasoning: count,
  costUsd: z.number(),
  costSource: z.string(),
});

export const exportDocumentSchema = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exportedAt: z.string(),
  loopdVersion: z.string(),
  /** The store schema version it was read from (information only). */
  schemaVersion: z.number().int(),
  settings: z.array(exportedSettingSchema),
  routines: z.array(exportedRoutineSchema),
  memory: z.array(exportedMemorySchema),
  loopItems: z.array(exportedLoopItemSchema),
  ledger: z.array(exportedLedgerRowSchema),
});

export type ExportDocument = z.infer<typeof exportDocumentSchema>;
export type ExportedSetting = z.infer<typeof exportedSettingSchema>;
export type ExportedRoutine = z.infer<typeof exportedRoutineSchema>;
export type ExportedMemory = z.infer<typeof exportedMemorySchema>;
export type ExportedLoopItem = z.infer<typeof exportedLoopItemSchema>;
export type ExportedLedgerRow = z.infer<typeof exportedLedgerRowSchema>;

/**
 * Reads an export file's text: not JSON or not an export is LOOPD_IMPORT_INVALID, a version
 * this loopd does not know is LOOPD_IMPORT_VERSION, a field that does not fit is
 * LOOPD_IMPORT_INVALID naming its path.
 */
export function parseExportDocument(text: string, origin: string): ExportDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LoopdError("LOOPD_IMPORT_INVALID", `${origin} is not JSON: ${(error as Error).message}`);
  }
  const head = raw as { format?: unknown; version?: unknown } | null;
  if (typeof head !== "object" || head === null || head.format !== EXPORT_FORMAT) {
    throw new LoopdError(
      "LOOPD_IMPORT_INVALID",
      `${origin} is not a loopd export (no "format": "${EXPORT_FORMAT}")`,
    );
  }
  if (head.version !== EXPORT_VERSION) {
    const newer = typeof head.version === "number" && head.version > EXPORT_VERSION;
    throw new LoopdError(
      "LOOPD_IMPORT_VERSION",
      `${origin} is export version ${JSON.stringify(head.version)}; this loopd reads version ${EXPORT_VERSION}`,
      newer ? { hint: "Import it with the loopd that exported it, or upgrade this loopd first." } : {},
    );
  }
  const parsed = exportDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    throw new LoopdError(
      "LOOPD_IMPORT_INVALID",
      `${origin}: ${path.slice(path.startsWith(".") ? 1 : 0) || "(document)"}: ${issue.message}`,
    );
  }
  return parsed.data;
}

/** What an attempt reports, whoever ran it: the harness produces it, the store records it. */

export interface TokenUsage {
  tokensIn: number;
  tokensOut: number;
  tokensCached: number;
  tokensReasoning: number;
}

export interface RunReport {
  exitCode: number | null;
  summary: string | null;
  /** `hint`: the failure's own advice when it has one (preflight's); else the error table's applies. */
  error: { code: string; message: string; hint?: string } | null;
  usage?: TokenUsage;
  costUsd?: number;
  turns?: number | null;
  sessionId?: string | null;
}

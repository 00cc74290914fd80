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
  error: { code: string; message: string } | null;
  usage?: TokenUsage;
  costUsd?: number;
  turns?: number | null;
  sessionId?: string | null;
}

/** How each face words the hints a client gives: the CLI names commands, MCP its tools. */
import { LoopdError } from "../../domain/errors.js";
import type { ClientFace } from "./loopd-client.js";

const FACE_WORDS: Record<
  ClientFace,
  {
    /** Where to find run ids. */
    runIds: string;
    /** How a `since` window was given, for its error message. */
    since: (text: string) => string;
    sinceHint: string;
  }
> = {
  cli: {
    runIds: "Run `loopd runs` to see run ids.",
    since: (text) => `--since ${text}`,
    sinceHint: "Give a duration with a unit, e.g. --since 7d or --since 24h.",
  },
  mcp: {
    runIds: "Call list_runs to see run ids.",
    since: (text) => `since "${text}"`,
    sinceHint: 'Give a duration with a unit, e.g. "24h", "7d" or "30d".',
  },
};

/** No run `runId`, with the face's way to find run ids. */
export function noRun(face: ClientFace, runId: number): LoopdError {
  return new LoopdError("LOOPD_NOT_FOUND", `no run ${runId}`, { hint: FACE_WORDS[face].runIds });
}

/**
 * Runs `request` about one run; a LOOPD_NOT_FOUND from it (the use-case's hint names the CLI,
 * the API's speaks HTTP) gets the face's own way to find run ids.
 */
export async function aboutRun<T>(face: ClientFace, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (!(error instanceof LoopdError) || error.code !== "LOOPD_NOT_FOUND") throw error;
    throw new LoopdError(error.code, error.message, {
      hint: FACE_WORDS[face].runIds,
      ...(error.details !== undefined ? { details: error.details } : {}),
    });
  }
}

/** A `since` that is not a duration, worded for the face that was given it. */
export function sinceError(face: ClientFace, since: string, reason: string): LoopdError {
  return new LoopdError("LOOPD_USAGE", `${FACE_WORDS[face].since(since)}: ${reason}`, {
    hint: FACE_WORDS[face].sinceHint,
  });
}

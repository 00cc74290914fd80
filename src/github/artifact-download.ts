/**
 * The second leg of an artifact download: the signed blob URL GitHub redirected to, fetched
 * without loopd's token (the URL carries its own signature, and the token stays with GitHub)
 * and read at most `maxBytes` — a declared or actual size above it is refused with
 * LOOPD_GITHUB_ARTIFACT_TOO_LARGE before the rest is read.
 */
import { LoopdError } from "../domain/errors.js";

const BLOB_TIMEOUT_MS = 60_000;

export async function downloadBlob(
  url: URL,
  what: string,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(BLOB_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    // No headers of loopd's: above all no Authorization.
    response = await fetch(url, { redirect: "follow", signal });
  } catch (error) {
    options.signal?.throwIfAborted();
    throw new LoopdError(
      "LOOPD_GITHUB_UNAVAILABLE",
      `could not fetch ${url.host}'s download for ${what}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new LoopdError(
      "LOOPD_GITHUB_UNAVAILABLE",
      `${url.host} answered ${response.status} ${response.statusText} for ${what}`,
      { details: { status: response.status } },
    );
  }
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared)) tooLarge(declared, what, options.maxBytes, response);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > options.maxBytes) {
      await reader.cancel();
      tooLarge(size, what, options.maxBytes, null);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** Throws LOOPD_GITHUB_ARTIFACT_TOO_LARGE when `size` is above `maxBytes`. */
export function refuseOversized(size: number, what: string, maxBytes: number): void {
  tooLarge(size, what, maxBytes, null);
}

function tooLarge(size: number, what: string, maxBytes: number, response: Response | null): void {
  if (size <= maxBytes) return;
  void response?.body?.cancel();
  throw new LoopdError(
    "LOOPD_GITHUB_ARTIFACT_TOO_LARGE",
    `refused ${what}: ${mib(size)} is more than the ${mib(maxBytes)} loopd reads`,
    { details: { size, maxBytes } },
  );
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

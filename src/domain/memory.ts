/**
 * A routine's memory: markdown kept in the store and given to every run. Entries are `## `
 * sections, oldest first; the size cap drops the oldest whole entries (then, if one entry is
 * still too big, its beginning). A run updates memory either by editing `.loopd/memory.md`
 * in its workspace (the file replaces the memory) or by ending its final message with a
 * fenced `loopd-memory` block (appended as a new entry).
 */

export const DEFAULT_MEMORY_MAX_BYTES = 16 * 1024;
export const MEMORY_FILE = ".loopd/memory.md";

const FENCE = /```loopd-memory[^\n]*\n([\s\S]*?)\n?```/g;

/** The last `loopd-memory` block of a message, trimmed; null when there is none or it is empty. */
export function memoryBlockOf(message: string | null | undefined): string | null {
  if (!message) return null;
  let last: string | null = null;
  for (const match of message.matchAll(FENCE)) last = match[1]?.trim() ?? null;
  return last ? last : null;
}

/** A new entry appended to the memory. */
export function appendEntry(memory: string, heading: string, body: string): string {
  const entry = `## ${heading}\n\n${body.trim()}\n`;
  return memory.trim() ? `${memory.trimEnd()}\n\n${entry}` : entry;
}

/** Drops the oldest entries until the memory fits `maxBytes`. Text before the first entry is a preamble and is kept. */
export function capMemory(memory: string, maxBytes: number): { memory: string; dropped: number } {
  if (Buffer.byteLength(memory) <= maxBytes) return { memory, dropped: 0 };
  const { preamble, entries } = splitEntries(memory);
  let dropped = 0;
  while (entries.length > 1 && Buffer.byteLength(join(preamble, entries)) > maxBytes) {
    entries.shift();
    dropped++;
  }
  let capped = join(preamble, entries);
  const excess = Buffer.byteLength(capped) - maxBytes;
  if (excess > 0) {
    // One entry (or the preamble) alone is too big: keep its end, the newest part.
    const buffer = Buffer.from(capped, "utf8");
    let start = excess;
    while (start < buffer.length && ((buffer[start] ?? 0) & 0xc0) === 0x80) start++;
    capped = buffer.subarray(start).toString("utf8");
    dropped++;
  }
  return { memory: capped, dropped };
}

function splitEntries(memory: string): { preamble: string; entries: string[] } {
  const parts = memory.split(/^(?=## )/m);
  const preamble = parts[0]?.startsWith("## ") ? "" : (parts.shift() ?? "");
  return { preamble, entries: parts };
}

function join(preamble: string, entries: string[]): string {
  return `${preamble}${entries.join("")}`;
}

export interface MemoryUpdate {
  memory: string;
  source: "file" | "message";
  dropped: number;
}

/**
 * What a run's memory becomes: the edited file wins (it holds the whole memory), else the
 * message block is appended. Null when the run changed nothing.
 */
export function updatedMemory(options: {
  before: string;
  /** Content of `.loopd/memory.md` after the run, or null when missing. */
  file: string | null;
  finalMessage: string | null | undefined;
  heading: string;
  maxBytes: number;
}): MemoryUpdate | null {
  const { before, file, maxBytes } = options;
  if (file !== null && file.trim() !== before.trim()) {
    return { ...capMemory(file.trim() ? `${file.trimEnd()}\n` : "", maxBytes), source: "file" };
  }
  const block = memoryBlockOf(options.finalMessage);
  if (block === null) return null;
  return { ...capMemory(appendEntry(before, options.heading, block), maxBytes), source: "message" };
}

/** The part of the system prompt about memory. */
export function memoryInstructions(memory: string, fileAvailable: boolean): string {
  const how = fileAvailable
    ? `Your memory is also in the file \`${MEMORY_FILE}\` of your working folder: to remember something for the next run, edit that file (add a \`## \` section; keep it short), or end your final message with a fenced \`loopd-memory\` block.`
    : "To remember something for the next run, end your final message with a fenced `loopd-memory` block (a few short lines).";
  return [
    "# Memory from earlier runs of this routine",
    memory.trim() ? memory.trim() : "(empty: this is the first run, or nothing was worth remembering yet)",
    how,
  ].join("\n\n");
}

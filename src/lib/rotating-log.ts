/**
 * An append-only log file that rotates by size: `serve.log` → `serve.log.1` → … up to `keep`
 * old files, the oldest dropped. Writes are synchronous appends (a daemon's log is a few lines
 * a run), so a crash loses nothing written before it and no buffer needs flushing at exit.
 * A write that fails (disk full, dir removed) is dropped: the log must never stop the daemon.
 */
import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";

export interface RotatingLogOptions {
  /** Rotate when the file would grow past this many bytes. Default 10 MiB. */
  maxBytes?: number;
  /** Old files kept (`.1` … `.keep`). Default 3. */
  keep?: number;
}

export class RotatingLog {
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    readonly path: string,
    options: RotatingLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.keep = Math.max(1, options.keep ?? 3);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch {
      // An unusable dir is reported by what needs it (the store); writes here are then dropped.
    }
    this.size = fileSize(path);
  }

  write(text: string): void {
    const bytes = Buffer.byteLength(text);
    try {
      if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
      appendFileSync(this.path, text, { mode: 0o600 });
      this.size += bytes;
    } catch {
      // Dropped on purpose (see the header); the next write tries again from the file's size.
      this.size = fileSize(this.path);
    }
  }

  private rotate(): void {
    rmSync(`${this.path}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch {
        // Not there yet: fewer rotations so far than `keep`.
      }
    }
    renameSync(this.path, `${this.path}.1`);
    this.size = 0;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

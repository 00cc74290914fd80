/**
 * An incremental Server-Sent Events parser: fed the response's chunks as they pass through the
 * gateway, it calls back once per complete event, so usage is read without holding the stream.
 * Follows the WHATWG rules that matter here: lines end in CRLF, LF or CR (also split across
 * chunks), `event:` and `data:` fields (one leading space dropped, several `data:` lines
 * joined by LF), comments (`:`) ignored, an event dispatched at a blank line (and at the end of
 * the stream, which the spec would drop but a cut stream's last event may still carry usage).
 */
import { StringDecoder } from "node:string_decoder";

export type SseHandler = (event: string | null, data: string) => void;

/** A line longer than this is skipped rather than grown without bound (no usage line is near it). */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

export class SseParser {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  /** The previous chunk ended in CR: an LF starting the next one belongs to that line end. */
  private afterCr = false;
  private overlong = false;
  private event: string | null = null;
  private data: string[] = [];

  constructor(private readonly onEvent: SseHandler) {}

  push(chunk: Buffer | string): void {
    let text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    if (text === "") return;
    if (this.afterCr && text.startsWith("\n")) text = text.slice(1);
    this.afterCr = false;
    let start = 0;
    // Line ends found with indexOf (native), each searched again only once passed.
    let lf = text.indexOf("\n");
    let cr = text.indexOf("\r");
    while (lf !== -1 || cr !== -1) {
      const at = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      const line = this.pending + text.slice(start, at);
      this.pending = "";
      if (this.overlong) this.overlong = false;
      else this.line(line);
      start = at + 1;
      if (at === cr) {
        if (lf === at + 1) start++;
        else if (at + 1 === text.length) this.afterCr = true;
      }
      if (lf !== -1 && lf < start) lf = text.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start);
    }
    if (start < text.length && !this.overlong) {
      this.pending += text.slice(start);
      if (this.pending.length > MAX_LINE_CHARS) {
        this.pending = "";
        this.overlong = true;
      }
    }
  }

  /** The stream ended: a last line without its newline, and a last event without its blank line. */
  end(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    if (rest !== "" && !this.overlong) this.line(rest);
    this.dispatch();
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* ":" */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
  }

  private dispatch(): void {
    if (this.data.length > 0) this.onEvent(this.event, this.data.join("\n"));
    this.event = null;
    this.data = [];
  }
}

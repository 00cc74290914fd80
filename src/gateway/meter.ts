/**
 * The usage tap on one response: given a copy of each chunk as it passes to the client, it
 * reads the usage without holding the stream. SSE goes through the incremental parser; a JSON
 * body is held (up to 8 MB, else not read) and parsed at the end; anything else is not read.
 * The gateway asks upstreams for `accept-encoding: identity`; one that compresses anyway is
 * decoded here from a copy (gzip, deflate, br), the client still gets the bytes as sent.
 */
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { SseParser } from "./sse.js";
import type { WireFormat } from "./types.js";
import { usageReader } from "./usage.js";

const MAX_JSON_BYTES = 8 * 1024 * 1024;

export interface ResponseMeter {
  write(chunk: Buffer): void;
  /** The response ended or was cut; resolves once everything written has been read. */
  end(): Promise<void>;
  usage: ReturnType<typeof usageReader>;
}

export function responseMeter(
  format: WireFormat,
  contentType: string,
  contentEncoding: string,
): ResponseMeter {
  const reader = usageReader(format);
  let consume: (chunk: Buffer) => void = () => {};
  let finish: () => void = () => {};
  if (format !== "unknown" && /text\/event-stream/i.test(contentType)) {
    const parser = new SseParser((event, data) => reader.event(event, data));
    consume = (chunk) => parser.push(chunk);
    finish = () => parser.end();
  } else if (format !== "unknown" && /json/i.test(contentType)) {
    let chunks: Buffer[] | null = [];
    let size = 0;
    consume = (chunk) => {
      if (chunks === null) return;
      size += chunk.length;
      if (size > MAX_JSON_BYTES) chunks = null;
      else chunks.push(chunk);
    };
    finish = () => {
      if (chunks === null || size === 0) return;
      try {
        reader.body(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        // A cut or malformed body carries no usage the gateway can trust.
      }
      chunks = null;
    };
  } else {
    return { write() {}, end: () => Promise.resolve(), usage: reader };
  }

  const decoder = decoderFor(contentEncoding);
  if (decoder === null) {
    let ended = false;
    return {
      write: consume,
      end() {
        if (!ended) {
          ended = true;
          finish();
        }
        return Promise.resolve();
      },
      usage: reader,
    };
  }
  decoder.on("data", consume);
  const done = new Promise<void>((resolve) => {
    decoder.on("end", () => {
      finish();
      resolve();
    });
    // A truncated compressed stream: whatever was decoded before the cut still counts.
    decoder.on("error", () => {
      finish();
      resolve();
    });
  });
  return {
    write: (chunk) => {
      if (!decoder.writableEnded) decoder.write(chunk);
    },
    end() {
      if (!decoder.writableEnded) decoder.end();
      return done;
    },
    usage: reader,
  };
}

function decoderFor(encoding: string) {
  const name = encoding.trim().toLowerCase();
  if (name === "gzip" || name === "x-gzip") return createGunzip();
  if (name === "deflate") return createInflate();
  if (name === "br") return createBrotliDecompress();
  return null;
}

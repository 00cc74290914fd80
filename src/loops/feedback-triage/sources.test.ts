/**
 * Feedback sources other than GitHub (test/feedback-triage.test.ts covers that): a folder of
 * JSONL and CSV files, and an HTTP endpoint answering JSON, over real files and real HTTP.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pathValue, readSource, type SourceContext } from "./sources.js";

describe("feedback sources", () => {
  let root: string;
  let server: Server;
  let url: string;
  let answer: { status: number; body: string };
  const context = (): SourceContext => ({
    baseDir: root,
    env: { FEEDBACK_TOKEN: "secret-token" },
    githubApiUrl: undefined,
    signal: new AbortController().signal,
  });
  const seen: Array<string | undefined> = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "loopd-sources-"));
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feedback`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(root, { recursive: true, force: true });
  });

  it("reads a folder of JSONL and CSV files: dotted paths, column names, quoted commas, blank rows skipped", async () => {
    mkdirSync(join(root, "feedback"));
    writeFileSync(
      join(root, "feedback", "a.jsonl"),
      `${JSON.stringify({ id: 1, fields: { text: "The app crashes on upload" }, link: "https://x/1" })}\n\n${JSON.stringify({ id: 2, fields: { text: "Dark mode please" } })}\n`,
    );
    writeFileSync(
      join(root, "feedback", "b.csv"),
      'uuid,message,url\nu-1,"Export to CSV drops the dates, again",https://x/u-1\nu-2,,\n',
    );
    writeFileSync(join(root, "feedback", "notes.txt"), "not feedback");
    const items = await readSource(
      { file: "feedback", text: "fields.text", id: "id", url: "link" },
      context(),
    );
    expect(items.map((item) => [item.key, item.text, item.url])).toEqual([
      ["file:feedback/a.jsonl:1", "The app crashes on upload", "https://x/1"],
      ["file:feedback/a.jsonl:2", "Dark mode please", null],
    ]);
    const csv = await readSource(
      { file: "feedback/b.csv", text: "message", id: "uuid", url: "url" },
      context(),
    );
    expect(csv.map((item) => [item.key, item.text, item.url])).toEqual([
      ["file:feedback/b.csv:u-1", "Export to CSV drops the dates, again", "https://x/u-1"],
    ]);
  });

  it("reads an HTTP endpoint's JSON with the items path and the token, and names a failing one", async () => {
    answer = {
      status: 200,
      body: JSON.stringify({
        data: { items: [{ uuid: "a", body: { text: "Login times out" } }, { uuid: "b" }] },
      }),
    };
    const source = {
      http: url,
      items: "data.items",
      text: "body.text",
      id: "uuid",
      tokenEnv: "FEEDBACK_TOKEN",
    };
    const items = await readSource(source, context());
    expect(items.map((item) => [item.key, item.text])).toEqual([[`http:${url}:a`, "Login times out"]]);
    expect(seen.at(-1)).toBe("Bearer secret-token");

    answer = { status: 503, body: "{}" };
    await expect(readSource(source, context())).rejects.toMatchObject({
      code: "LOOPD_FEEDBACK_SOURCE_FAILED",
      message: `feedback source http ${url}: GET answered 503 Service Unavailable`,
    });
    answer = { status: 200, body: JSON.stringify({ data: {} }) };
    await expect(readSource(source, context())).rejects.toMatchObject({
      message: `feedback source http ${url}: \`data.items\` is not an array`,
    });
    await expect(
      readSource({ file: "missing.jsonl", text: "text", id: "id" }, context()),
    ).rejects.toMatchObject({
      code: "LOOPD_FEEDBACK_SOURCE_FAILED",
    });
  });

  it("follows dotted paths through objects and arrays", () => {
    expect(pathValue({ a: { b: [{ c: "x" }] } }, "a.b.0.c")).toBe("x");
    expect(pathValue({ "a.b": 1 }, "a.b")).toBe(1);
    expect(pathValue({ a: 1 }, "a.b")).toBeUndefined();
  });
});

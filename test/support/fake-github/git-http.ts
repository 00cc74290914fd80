/**
 * git's smart HTTP for the fake GitHub's bare repositories (`/<owner>/<repo>.git/…`, where GitHub serves them),
 * through git's own `git http-backend` CGI, so clones, fetches and pushes are real git over
 * real HTTP. Like GitHub, it wants the token as HTTP Basic auth (any user name, the token as
 * password) and answers 401 with a Basic challenge without it; each exchange is recorded
 * with the Authorization header it carried, so tests can see how the token travelled.
 */
import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FakeGithubState } from "./state.js";

export interface GitExchange {
  method: string;
  path: string;
  authorization: string | undefined;
  status: number;
}

const GIT_PATH = /^\/([^/]+)\/([^/]+?)\.git(\/.*)$/;

export function isGitRequest(path: string): boolean {
  return GIT_PATH.test(path);
}

export async function serveGit(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  state: FakeGithubState,
  token: string | undefined,
  exchanges: GitExchange[],
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://fake");
  const [, owner, repo, rest] = GIT_PATH.exec(url.pathname)!;
  const bare = state.repos[`${owner}/${repo}`]?.bare;
  const record = (status: number) =>
    exchanges.push({
      method: req.method ?? "GET",
      path: url.pathname,
      authorization: req.headers.authorization,
      status,
    });
  if (!bare) {
    record(404);
    res.writeHead(404).end("Repository not found.");
    return;
  }
  const basic = /^basic\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
  const password = basic
    ? Buffer.from(basic, "base64").toString("utf8").split(":").slice(1).join(":")
    : undefined;
  if (token !== undefined && password !== token) {
    record(401);
    res.writeHead(401, { "www-authenticate": 'Basic realm="GitHub"' }).end("Invalid username or token.");
    return;
  }
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH ?? "",
      GIT_PROJECT_ROOT: bare,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: rest!,
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      CONTENT_LENGTH: String(body.length),
      ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] } : {}),
      ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
      // http-backend enables receive-pack (push) for an authenticated user.
      REMOTE_USER: "x-access-token",
      REMOTE_ADDR: "127.0.0.1",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stdin.end(body);
  await new Promise<void>((resolve) => child.on("close", () => resolve()));
  const output = Buffer.concat(chunks);
  const split = output.indexOf("\r\n\r\n");
  const headerText = output.subarray(0, Math.max(split, 0)).toString("utf8");
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of headerText.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "status") status = Number(value.split(" ")[0]);
    else headers[name] = value;
  }
  record(status);
  res.writeHead(status, headers);
  res.end(output.subarray(split < 0 ? 0 : split + 4));
}

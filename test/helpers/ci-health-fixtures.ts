/**
 * ci-health's flaky-test fixture: a test command whose `clock::timing` test passes when
 * flaky.js says so for the invocation's count (kept in a file the caller names, relative to
 * the folder the tests run in: a fix's confirming re-runs are sandboxed to their worktree),
 * and the Claude Code turns that fix it.
 */
import { join } from "node:path";
import type { ModelRequest, ScriptedReply } from "../support/fake-model/script.js";
import { worktreeOf } from "./fake-agent.js";

/** `timing` passes when flaky.js says so for the invocation's count (kept in `stateFile`): odd counts pass. */
export function flakyScript(stateFile: string): string {
  return `const fs = require("node:fs");
let count = 0;
try { count = Number(fs.readFileSync(${JSON.stringify(stateFile)}, "utf8")); } catch {}
fs.writeFileSync(${JSON.stringify(stateFile)}, String(count + 1));
const ok = require("./flaky.js")(count);
const timing = ok
  ? '<testcase classname="clock" name="timing"/>'
  : '<testcase classname="clock" name="timing"><failure message="expected the tick within 10 ms">AssertionError: expected the tick within 10 ms</failure></testcase>';
fs.writeFileSync("junit.xml", '<testsuites><testsuite name="clock"><testcase classname="clock" name="steady"/>' + timing + "</testsuite></testsuites>");
process.exit(ok ? 0 : 1);
`;
}

/** Claude Code writes an existing file only after reading it: read flaky.js, write `content`, explain. */
export function editFlaky(content: string, explanation: string) {
  const file = (request: ModelRequest) => join(worktreeOf(request), "flaky.js");
  return (request: ModelRequest): ScriptedReply => {
    if (request.turn === 0) return { toolCalls: [{ name: "Read", input: { file_path: file(request) } }] };
    if (request.turn === 1)
      return { toolCalls: [{ name: "Write", input: { file_path: file(request), content } }] };
    return { text: explanation };
  };
}

/** TODO: protocol module, being written. */
import type { ServerResponse } from "node:http";
import type { ModelRequest, ScriptedReply } from "./script.js";
import { json } from "./server.js";

export function handleAnthropic(request: ModelRequest, reply: ScriptedReply, res: ServerResponse): void {
  json(res, 501, { error: { message: `${request.protocol} not implemented yet: ${reply.text ?? ""}` } });
}

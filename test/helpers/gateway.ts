/**
 * A metering-gateway tenant for tests: admits by a given rule (default: everything) and keeps
 * every admission and record, so a test can say "exactly one record per request".
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Admission, GatewayTenant, MeteredRequest, MeteredResponse } from "../../src/gateway/types.js";

export interface RecordingTenant extends GatewayTenant {
  admitted: MeteredRequest[];
  records: Array<{ request: MeteredRequest; response: MeteredResponse }>;
}

export function recordingTenant(
  rule: (request: MeteredRequest) => Admission = () => ({ ok: true }),
): RecordingTenant {
  const admitted: MeteredRequest[] = [];
  const records: RecordingTenant["records"] = [];
  return {
    admitted,
    records,
    async admit(request) {
      const admission = rule(request);
      if (admission.ok) admitted.push(request);
      return admission;
    },
    async record(request, response) {
      records.push({ request, response });
    },
  };
}

/** A bare HTTP upstream on 127.0.0.1 for the shapes the fake model server does not make (slow, cut, gzip). */
export async function startRawUpstream(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * One metering gateway per process that runs attempts (serve, worker, an inline `loopd run`),
 * started on the first agent attempt that wants it and closed when the engine stops. A
 * gateway that fails to start is tried again by the next attempt; meanwhile attempts are
 * metered from their harness's report.
 */
import type { MeteringGateway } from "../gateway/types.js";

export class GatewayHost {
  private starting: Promise<MeteringGateway> | null = null;
  private closed = false;

  constructor(private readonly start: () => Promise<MeteringGateway>) {}

  get(): Promise<MeteringGateway> {
    if (this.closed) return Promise.reject(new Error("the metering gateway is closed"));
    if (!this.starting) {
      const starting = this.start();
      this.starting = starting;
      starting.catch(() => {
        if (this.starting === starting) this.starting = null;
      });
    }
    return this.starting;
  }

  async close(): Promise<void> {
    this.closed = true;
    const gateway = await this.starting?.catch(() => null);
    this.starting = null;
    await gateway?.close();
  }
}

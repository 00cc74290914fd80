/** `/healthz` for probes: 200 while the engine's store answers, 503 (with why) while it does not. */
import { describe, expect, it } from "vitest";
import { createHttpApp, type HealthInfo } from "./http.js";

function app(engine: ReturnType<NonNullable<HealthInfo["health"]>>) {
  return createHttpApp(
    {
      version: "0.0.0",
      store: "postgres://db/loopd",
      workerId: "w1",
      activeRuns: () => 2,
      health: () => engine,
    },
    () => {},
  );
}

describe("/healthz", () => {
  it("is ok while the store answers, and says whether wake-ups arrive", async () => {
    const response = await app({ store: "ok", downSince: null, error: null, listening: true }).request(
      "/healthz",
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ok: true,
      storeStatus: "ok",
      listening: true,
      activeRuns: 2,
    });
  });

  it("answers 503 with since when and why while the store is down", async () => {
    const since = Date.parse("2026-11-28T08:00:00Z");
    const response = await app({
      store: "degraded",
      downSince: since,
      error: "Connection terminated unexpectedly",
      listening: false,
    }).request("/healthz");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      ok: false,
      storeStatus: "degraded",
      storeDownSince: "2026-11-28T08:00:00.000Z",
      storeError: "Connection terminated unexpectedly",
      listening: false,
    });
  });
});

import { describe, expect, it } from "vitest";
import { agentEnvironment, createRedactor } from "./agent-env.js";

describe("agentEnvironment", () => {
  const base = {
    PATH: "/usr/bin",
    HOME: "/home/me",
    LC_ALL: "C.UTF-8",
    ANTHROPIC_API_KEY: "sk-ant-secret-value",
    AWS_SECRET_ACCESS_KEY: "aws-secret-value",
    DATABASE_URL: "postgres://user:pw@db/prod",
    GITHUB_TOKEN: "ghp_declaredsecret",
  };

  it("passes the allow-list, the harness's keys and declared secrets only", () => {
    const { env, secrets } = agentEnvironment({
      base,
      harnessKeys: [/^ANTHROPIC_/],
      secretNames: ["GITHUB_TOKEN"],
      env: { CI: "1" },
      context: { LOOPD_RUN_ID: "7" },
    });
    expect(env).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/me",
      LC_ALL: "C.UTF-8",
      ANTHROPIC_API_KEY: "sk-ant-secret-value",
      GITHUB_TOKEN: "ghp_declaredsecret",
      CI: "1",
      LOOPD_RUN_ID: "7",
    });
    expect([...secrets.keys()].sort()).toEqual(["ANTHROPIC_API_KEY", "GITHUB_TOKEN"]);
  });

  it("redacts a secret an adapter cut short, and secret-looking names in the routine's env", () => {
    const { secrets } = agentEnvironment({
      base: {},
      harnessKeys: [],
      secretNames: [],
      env: { DEPLOY_TOKEN: "dtok-1234567890", CI: "true" },
      context: {},
    });
    expect([...secrets.keys()]).toEqual(["DEPLOY_TOKEN"]);
    const redact = createRedactor(secrets);
    expect(redact("Authorization: dtok-12345…")).toBe("Authorization: [redacted:DEPLOY_TOKEN]…");
    expect(redact("dtok-1…")).toBe("dtok-1…"); // too short a prefix to mean anything
  });

  it("redacts secret values wherever they appear", () => {
    const redact = createRedactor(
      new Map([
        ["GITHUB_TOKEN", "ghp_declaredsecret"],
        ["SHORT", "abc"],
      ]),
    );
    expect(redact("curl -H 'Authorization: ghp_declaredsecret' x; abc")).toBe(
      "curl -H 'Authorization: [redacted:GITHUB_TOKEN]' x; abc",
    );
  });
});

describe("agentEnvironment with inheritAll (a shell routine's `inheritEnv: true`)", () => {
  it("passes everything and still collects secret-named values for redaction", () => {
    const { env, secrets } = agentEnvironment({
      base: { PATH: "/usr/bin", AWS_SECRET_ACCESS_KEY: "aws-secret-value", DATABASE_URL: "postgres://x" },
      harnessKeys: [],
      secretNames: [],
      env: {},
      context: { LOOPD_RUN_ID: "7" },
      inheritAll: true,
    });
    expect(env).toEqual({
      PATH: "/usr/bin",
      AWS_SECRET_ACCESS_KEY: "aws-secret-value",
      DATABASE_URL: "postgres://x",
      LOOPD_RUN_ID: "7",
    });
    expect([...secrets.keys()]).toEqual(["AWS_SECRET_ACCESS_KEY"]);
  });
});

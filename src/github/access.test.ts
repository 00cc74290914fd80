import { describe, expect, it } from "vitest";
import { resolveGithubAccess } from "./access.js";

describe("resolveGithubAccess with a routine's tokenEnv", () => {
  it("takes the token from the named variable, over GITHUB_TOKEN", async () => {
    const env = { GITHUB_TOKEN: "ghp_daemon", BOT_TOKEN: " ghp_bot \n" };
    expect(await resolveGithubAccess(env, undefined, { tokenEnv: "BOT_TOKEN" })).toEqual({
      apiUrl: "https://api.github.com",
      token: "ghp_bot",
      tokenSource: "BOT_TOKEN",
    });
  });

  it("refuses a tokenEnv that is not set instead of falling back to another token", async () => {
    await expect(
      resolveGithubAccess({ GITHUB_TOKEN: "ghp_daemon" }, undefined, { tokenEnv: "BOT_TOKEN" }),
    ).rejects.toMatchObject({
      code: "LOOPD_GITHUB_AUTH",
      message: "tokenEnv BOT_TOKEN is not set for the daemon",
    });
  });
});

import { describe, expect, it } from "vitest";
import { shellSpec } from "../../../test/helpers/specs.js";
import { SANDBOX_EXEC, sandboxExecArgs } from "./darwin.js";
import { homeLayout } from "./home.js";
import { hostAllowed } from "./network.js";
import { bwrapArgs, type SandboxProfile } from "./profile.js";
import { sandboxRequest } from "./request.js";
import { sbplProfile } from "./sbpl.js";

const base: SandboxProfile = {
  cwd: "/pool/slot-0",
  home: { path: "/home/me", source: "/tmp/loopd-sandbox-x/home" },
  binds: [
    { source: "/home/me/.claude", writable: true, optional: true },
    { source: "/repo/.git", writable: false },
    { source: "/repo/.git/objects", writable: true, optional: true },
  ],
  masked: ["/etc/shadow"],
  network: {
    node: "/usr/bin/node",
    script: "/run/loopd-sandbox/launcher.mjs",
    config: "/run/loopd-sandbox/launcher.json",
  },
};

/** The flag triples (`--bind src dest`) of an argument list. */
function triples(args: string[], flag: string): string[][] {
  return args.flatMap((arg, i) => (arg === flag ? [[args[i + 1]!, args[i + 2]!]] : []));
}

describe("bwrapArgs", () => {
  const args = bwrapArgs(base, "/bin/sh", ["-c", "echo hi"]);

  it.each([
    ["--die-with-parent"],
    ["--new-session"],
    ["--unshare-pid"],
    ["--unshare-ipc"],
    ["--unshare-uts"],
    ["--unshare-cgroup-try"],
    ["--unshare-net"],
  ])("isolates: %s", (flag) => expect(args).toContain(flag));

  it("mounts /proc and /dev fresh, /tmp and /run private, the system read-only", () => {
    expect(args.join(" ")).toContain("--proc /proc --dev /dev --tmpfs /tmp --tmpfs /run");
    expect(triples(args, "--ro-bind-try")).toContainEqual(["/usr", "/usr"]);
    expect(triples(args, "--ro-bind-try")).toContainEqual(["/etc", "/etc"]);
    expect(triples(args, "--ro-bind-try")).toContainEqual(["/dev/null", "/etc/shadow"]);
  });

  it("mounts the synthetic HOME first, then the harness's config over it, the worktree last and writable", () => {
    const home = args.indexOf("/tmp/loopd-sandbox-x/home");
    const claude = args.indexOf("/home/me/.claude");
    expect(args[home - 1]).toBe("--bind");
    expect(args[home + 1]).toBe("/home/me");
    expect(claude).toBeGreaterThan(home);
    expect(args[claude - 1]).toBe("--bind-try");
    expect(triples(args, "--ro-bind")).toContainEqual(["/repo/.git", "/repo/.git"]);
    expect(triples(args, "--bind-try")).toContainEqual(["/repo/.git/objects", "/repo/.git/objects"]);
    const chdir = args.indexOf("--chdir");
    expect(args.slice(chdir - 3, chdir + 2)).toEqual([
      "--bind",
      "/pool/slot-0",
      "/pool/slot-0",
      "--chdir",
      "/pool/slot-0",
    ]);
  });

  it("starts the command through the launcher when the network is filtered, directly otherwise", () => {
    expect(args.slice(args.indexOf("--"))).toEqual([
      "--",
      "/usr/bin/node",
      "/run/loopd-sandbox/launcher.mjs",
      "/run/loopd-sandbox/launcher.json",
      "/bin/sh",
      "-c",
      "echo hi",
    ]);
    const open = bwrapArgs({ ...base, network: null }, "/bin/sh", ["-c", "x"]);
    expect(open).not.toContain("--unshare-net");
    expect(open.slice(open.indexOf("--"))).toEqual(["--", "/bin/sh", "-c", "x"]);
  });

  it("never binds the real HOME, ~/.ssh or the docker socket", () => {
    const sources = [
      ...triples(args, "--bind"),
      ...triples(args, "--ro-bind"),
      ...triples(args, "--bind-try"),
      ...triples(args, "--ro-bind-try"),
    ].map(([source]) => source ?? "");
    expect(sources).not.toContain("/home/me");
    expect(sources.some((source) => source.includes(".ssh") || source.includes("docker.sock"))).toBe(false);
  });
});

describe("homeLayout", () => {
  it.each([
    ["claude", {}, ["/h/.claude"], ["/h/.claude.json"]],
    ["claude", { CLAUDE_CONFIG_DIR: "/cfg/claude" }, ["/cfg/claude"], ["/h/.claude.json"]],
    ["codex", { CODEX_HOME: "/var/codex" }, ["/var/codex"], []],
    ["gemini", {}, ["/h/.gemini"], []],
    ["opencode", {}, ["/h/.local/share/opencode", "/h/.local/state/opencode", "/h/.cache/opencode"], []],
    ["shell", {}, [], []],
  ] as const)("%s %j: writable %j, copied %j", (harness, env, writable, copies) => {
    const layout = homeLayout(harness, "/h", env, { github: false });
    expect(layout.binds.filter((bind) => bind.writable).map((bind) => bind.source)).toEqual(writable);
    expect(layout.copies).toEqual(copies);
    expect(layout.binds.filter((bind) => !bind.writable).map((bind) => bind.source)).toContain(
      "/h/.gitconfig",
    );
  });

  it("adds gh's config read-only only for routines that use GitHub", () => {
    expect(homeLayout("claude", "/h", {}, { github: true }).binds).toContainEqual({
      source: "/h/.config/gh",
      writable: false,
      optional: true,
    });
    expect(homeLayout("claude", "/h", {}, { github: false }).binds.map((bind) => bind.source)).not.toContain(
      "/h/.config/gh",
    );
  });
});

describe("hostAllowed", () => {
  it.each([
    [["github.com"], "github.com", 443, true],
    [["github.com"], "api.github.com", 443, false],
    [["*.github.com"], "api.github.com", 443, true],
    [["*.github.com"], "github.com", 443, false],
    [["pypi.org:443"], "pypi.org", 80, false],
    [["pypi.org:443"], "PyPI.org", 443, true],
    [[], "example.com", 443, false],
  ] as const)("%j allows %s:%d: %s", (allowed, host, port, expected) => {
    expect(hostAllowed(allowed, host, port)).toBe(expected);
  });
});

describe("sandboxRequest", () => {
  const spec = { ...shellSpec("r"), harness: "claude" as const };
  it("forwards loopback model endpoints and lets remote ones through the proxy", () => {
    const request = sandboxRequest({
      spec,
      settings: {},
      harness: "claude",
      baseUrl: "http://127.0.0.1:4123/v1",
      env: { OPENAI_BASE_URL: "https://llm.example.com/v1", HOME: "/h" },
      baseEnv: {},
    });
    expect(request).toMatchObject({
      loopback: [{ host: "127.0.0.1", port: 4123 }],
      hosts: ["llm.example.com"],
      bwrap: "bwrap",
    });
  });
  it("opens the provider's public API when no base URL is set; LOOPD_BWRAP names the binary; off is null", () => {
    const request = sandboxRequest({
      spec,
      settings: {},
      harness: "claude",
      baseUrl: null,
      env: {},
      baseEnv: { LOOPD_BWRAP: "/x/bwrap" },
    });
    expect(request).toMatchObject({ loopback: [], hosts: ["api.anthropic.com"], bwrap: "/x/bwrap" });
    expect(
      sandboxRequest({
        spec: { ...spec, sandbox: "off" },
        settings: {},
        harness: "claude",
        baseUrl: null,
        env: {},
        baseEnv: {},
      }),
    ).toBeNull();
  });
});

describe("sbplProfile (macOS, not exercised in CI)", () => {
  const text = sbplProfile(base, { tempDirs: ["/private/tmp"], loopbackPorts: [4123, 3128] });
  it("is balanced s-expressions, one rule a line", () => {
    let depth = 0;
    for (const char of text.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
      if (char === "(") depth++;
      if (char === ")") depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
    for (const line of text.trim().split("\n")) expect(line).toMatch(/^(\(.*\)|;;.*)$/);
  });
  it("denies by default and HOME, allows the worktree and the harness's config, loopback only", () => {
    expect(text).toContain("(deny default)");
    expect(text).toContain('(deny file-read* (subpath "/home/me"))');
    expect(text.indexOf('(allow file-read* file-write* (subpath "/home/me/.claude"))')).toBeGreaterThan(
      text.indexOf('(deny file-read* (subpath "/home/me"))'),
    );
    expect(text).toContain('(allow file-read* file-write* (subpath "/pool/slot-0"))');
    expect(text).toContain('(allow network-outbound (remote ip "localhost:4123"))');
    expect(text).not.toContain("(allow network*)");
  });
});

describe("sandboxExecArgs (macOS launch line, built on Linux; not exercised in CI)", () => {
  const options = { tempDirs: ["/var/folders/x/loopd-sandbox-1/tmp"], loopbackPorts: [4123, 51000] };
  const args = sandboxExecArgs(base, "/bin/sh", ["-c", "echo hi"], options);

  it("is sandbox-exec -p <the profile's SBPL> then the command, without bubblewrap's launcher", () => {
    expect(SANDBOX_EXEC).toBe("/usr/bin/sandbox-exec");
    expect(args[0]).toBe("-p");
    expect(args[1]).toBe(sbplProfile(base, options));
    expect(args.slice(2)).toEqual(["/bin/sh", "-c", "echo hi"]);
    expect(args).not.toContain(base.network!.script);
  });

  it("writes only the worktree, the private temp dir and the writable binds; reaches only its ports", () => {
    const sbpl = args[1]!;
    const writes = [...sbpl.matchAll(/\(allow file-read\* file-write\* \(subpath "([^"]+)"\)\)/g)].map(
      (m) => m[1],
    );
    expect(writes).toEqual([
      "/pool/slot-0",
      "/var/folders/x/loopd-sandbox-1/tmp",
      "/home/me/.claude",
      "/repo/.git/objects",
    ]);
    expect(sbpl).toContain('(allow network-outbound (remote ip "localhost:51000"))');
    expect(sbpl).not.toContain("(allow network*)");
    const open = sandboxExecArgs({ ...base, network: null }, "/bin/true", [], options)[1]!;
    expect(open).toContain("(allow network*)");
  });
});

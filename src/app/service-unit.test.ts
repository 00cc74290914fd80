/**
 * The service files `loopd service install` writes: the systemd unit's directives and quoting
 * (and `systemd-analyze verify` on it where systemd is installed), the launchd plist parsed as
 * XML into the structure launchd reads.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, describe, expect, it } from "vitest";
import {
  capturedEnv,
  launchdPlist,
  parseLaunchctlPrint,
  parseSystemctlShow,
  type ServiceSpec,
  systemdUnit,
} from "./service-unit.js";

const spec: ServiceSpec = {
  nodePath: "/usr/local/bin/node",
  binPath: "/usr/local/lib/node_modules/loopd/dist/cli/bin.js",
  home: "/home/ada/.local/share/loopd",
  configFile: "/home/ada/loops/loopd.yaml",
  env: { PATH: "/home/ada/.local/bin:/usr/bin:/bin", LOOPD_DATABASE_URL: "postgres://ada:p%40ss@db/loopd" },
};

function directives(unit: string): Array<[string, string]> {
  return unit
    .split("\n")
    .filter((line) => /^[A-Za-z]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]);
}

describe("systemd user unit", () => {
  const unit = systemdUnit(spec);

  it("runs serve with absolute node, bin, home and config, restarting always after the network", () => {
    const values = Object.fromEntries(directives(unit));
    expect(values.ExecStart).toBe(
      "/usr/local/bin/node /usr/local/lib/node_modules/loopd/dist/cli/bin.js serve --home /home/ada/.local/share/loopd -f /home/ada/loops/loopd.yaml",
    );
    expect(values).toMatchObject({
      Restart: "always",
      RestartSec: "5",
      After: "network-online.target",
      Wants: "network-online.target",
      WantedBy: "default.target",
      KillMode: "mixed",
      WorkingDirectory: "-/home/ada/.local/share/loopd",
    });
    expect(unit).toMatch(/^\[Unit\]$/m);
    expect(unit).toMatch(/^\[Service\]$/m);
    expect(unit).toMatch(/^\[Install\]$/m);
    // No StandardOutput: the journal is systemd's default.
    expect(unit).not.toMatch(/StandardOutput/);
  });

  it("carries PATH and LOOPD_* as Environment lines, `%` escaped as a specifier", () => {
    const env = directives(unit)
      .filter(([key]) => key === "Environment")
      .map(([, value]) => value);
    expect(env).toEqual([
      '"PATH=/home/ada/.local/bin:/usr/bin:/bin"',
      '"LOOPD_DATABASE_URL=postgres://ada:p%%40ss@db/loopd"',
    ]);
    expect(unit).toContain("EnvironmentFile=-/home/ada/.local/share/loopd/service.env");
  });

  it("quotes ExecStart words with spaces, `$` and quotes; no -f without a config", () => {
    const odd = systemdUnit({
      ...spec,
      home: '/home/ada/my "loops" $HOME 100%',
      configFile: undefined,
      env: {},
    });
    const exec = Object.fromEntries(directives(odd)).ExecStart;
    expect(exec).toBe(
      '/usr/local/bin/node /usr/local/lib/node_modules/loopd/dist/cli/bin.js serve --home "/home/ada/my \\"loops\\" $$HOME 100%%"',
    );
    expect(directives(odd).some(([key]) => key === "Environment")).toBe(false);
  });

  const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
  const dir = mkdtempSync(join(tmpdir(), "loopd-unit-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  if (!analyze)
    console.warn("systemd-analyze verify test skipped: systemd-analyze is not installed on this machine");

  it.runIf(analyze)(
    "passes `systemd-analyze verify` without a warning (skipped, with a reason, where systemd-analyze is absent)",
    () => {
      const bin = fileURLToPath(import.meta.url);
      const file = join(dir, "loopd.service");
      writeFileSync(
        file,
        systemdUnit({
          ...spec,
          nodePath: process.execPath,
          binPath: bin,
          home: dir,
          env: capturedEnv(process.env),
        }),
      );
      // System mode: `--user` needs a user manager's runtime dir, which containers and CI lack;
      // the unit's directives are checked the same way in both.
      const result = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
      expect(result.stderr.split("\n").filter((line) => line.includes("loopd.service"))).toEqual([]);
      expect(result.status).toBe(0);
      // And a broken one is caught, so the check above means something.
      const broken = join(dir, "broken.service");
      writeFileSync(broken, systemdUnit(spec).replace("Restart=always", "Restart=sometimes"));
      const bad = spawnSync("systemd-analyze", ["verify", broken], { encoding: "utf8" });
      expect(`${bad.stderr}`).toMatch(/restart specifier|not executable/);
    },
  );
});

describe("launchd agent plist", () => {
  const plist = launchdPlist({
    ...spec,
    home: "/Users/ada/<loops> & co",
    logDir: "/Users/ada/Library/Logs/loopd",
  });

  it("is well-formed XML with the keys launchd reads", () => {
    expect(XMLValidator.validate(plist)).toBe(true);
    // preserveOrder keeps <key>/<value> pairs in sequence, as launchd reads them.
    const parsed = new XMLParser({ preserveOrder: true, ignoreAttributes: false }).parse(
      plist,
    ) as PlistNode[];
    const root = parsed.find((node) => "plist" in node)?.plist as PlistNode[];
    const dict = plistDict(root.find((node) => "dict" in node)?.dict as PlistNode[]);
    expect(dict.Label).toBe("dev.loopd");
    expect(dict.ProgramArguments).toEqual([
      "/usr/local/bin/node",
      "/usr/local/lib/node_modules/loopd/dist/cli/bin.js",
      "serve",
      "--home",
      "/Users/ada/<loops> & co",
      "-f",
      "/home/ada/loops/loopd.yaml",
    ]);
    expect(dict.RunAtLoad).toBe(true);
    expect(dict.KeepAlive).toBe(true);
    expect(dict.ThrottleInterval).toBe(5);
    expect(dict.StandardOutPath).toBe("/Users/ada/Library/Logs/loopd/loopd.log");
    expect(dict.StandardErrorPath).toBe("/Users/ada/Library/Logs/loopd/loopd.err.log");
    expect(dict.EnvironmentVariables).toEqual(spec.env);
  });

  it("passes plutil -lint where it exists (macOS)", () => {
    if (spawnSync("plutil", ["-help"]).error) {
      console.warn(
        "plutil -lint skipped: plutil exists on macOS only; the XML structure test above covers it here",
      );
      return;
    }
    const file = join(mkdtempSync(join(tmpdir(), "loopd-plist-")), "dev.loopd.plist");
    writeFileSync(file, plist);
    expect(execFileSync("plutil", ["-lint", file], { encoding: "utf8" })).toMatch(/OK/);
  });
});

describe("service manager output", () => {
  it("reads systemctl show and launchctl print", () => {
    expect(
      parseSystemctlShow("ActiveState=active\nSubState=running\nUnitFileState=enabled\nExecMainStatus=0\n"),
    ).toEqual({ ActiveState: "active", SubState: "running", UnitFileState: "enabled", ExecMainStatus: "0" });
    expect(
      parseLaunchctlPrint("gui/501/dev.loopd = {\n\tstate = running\n\tpid = 4242\n\tlast exit code = 1\n}"),
    ).toEqual({ state: "running", pid: 4242, lastExit: "1" });
  });

  it("captures only set variables of the list", () => {
    expect(capturedEnv({ PATH: "/bin", LOOPD_HOME: "", SECRET: "x", LOOPD_PORT: "9000" })).toEqual({
      PATH: "/bin",
      LOOPD_PORT: "9000",
    });
  });
});

type PlistNode = Record<string, unknown>;
type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/** A preserveOrder `<dict>`'s children (`<key>` then value, repeated) as an object. */
function plistDict(children: PlistNode[]): Record<string, PlistValue> {
  const out: Record<string, PlistValue> = {};
  for (let i = 0; i < children.length; i += 2) {
    const key = children[i]?.key as Array<{ "#text": string }>;
    out[String(key[0]?.["#text"])] = plistValue(children[i + 1] as PlistNode);
  }
  return out;
}

function plistValue(node: PlistNode): PlistValue {
  const [tag, body] = Object.entries(node)[0] as [string, PlistNode[]];
  switch (tag) {
    case "true":
      return true;
    case "false":
      return false;
    case "string":
      return String(body[0]?.["#text"] ?? "");
    case "integer":
      return Number(body[0]?.["#text"]);
    case "array":
      return body.map(plistValue);
    case "dict":
      return plistDict(body);
    default:
      throw new Error(`unexpected plist element <${tag}>`);
  }
}

/**
 * `loopd service install | uninstall | status`: run `loopd serve` for this home under the
 * user's service manager (systemd user unit on Linux, launchd agent on macOS), so loops keep
 * running across logouts, reboots and crashes. `--print` shows the file and changes nothing.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { daemonServing } from "../../app/client/connect.js";
import {
  installedContent,
  installService,
  type ServiceStatus,
  serviceFile,
  serviceStatus,
  serviceTarget,
  uninstallService,
} from "../../app/service.js";
import { loopdBinPath } from "../../lib/package-root.js";
import type { CommandContext } from "../context.js";
import { pc } from "../format.js";
import type { Run } from "../program.js";

/** Hidden: preview (or test) the other platform's file, e.g. `--platform darwin --print` on Linux. */
const platformOption = () =>
  new Option(
    "--platform <platform>",
    "linux (systemd) or darwin (launchd); default: this machine",
  ).hideHelp();

export function registerServiceCommands(program: Command, run: Run): void {
  const service = program
    .command("service")
    .description("run `loopd serve` for this home as a user service (systemd on Linux, launchd on macOS)");

  service
    .command("install")
    .description("write the unit (or plist), enable it and (re)start it; re-run after an upgrade")
    .option("-f, --file <path>", "loopd.yaml the service applies at start and whenever it changes")
    .option("--print", "only print the file that would be written")
    .addOption(platformOption())
    .action(
      run(async (ctx: CommandContext, flags: { file?: string; print?: boolean; platform?: string }) => {
        const target = serviceTarget(ctx.io.env, flags.platform);
        const file = serviceFile(target, {
          nodePath: process.execPath,
          binPath: loopdBinPath(),
          home: ctx.home,
          ...(flags.file ? { configFile: resolve(flags.file) } : {}),
        });
        if (flags.print) {
          ctx.print(file, () => file.content);
          return;
        }
        const result = await installService(file, ctx.io.env, ctx.home);
        ctx.print({ ...result, home: ctx.home }, () =>
          [
            `${pc.green("✓")} installed ${result.path} and started loopd serve --home ${ctx.home}`,
            pc.dim(`  logs: ${result.logs} · status: loopd service status`),
            ...(result.lingerHint ? [pc.yellow(`  ${result.lingerHint}`)] : []),
          ].join("\n"),
        );
      }),
    );

  service
    .command("uninstall")
    .description("stop and disable the service and remove its file")
    .addOption(platformOption())
    .action(
      run(async (ctx: CommandContext, flags: { platform?: string }) => {
        const result = await uninstallService(serviceTarget(ctx.io.env, flags.platform));
        ctx.print(result, () =>
          result.removed
            ? `${pc.green("✓")} removed ${result.path}${result.stopped ? " (stopped and disabled)" : ""}`
            : `not installed (${result.path} does not exist)`,
        );
      }),
    );

  service
    .command("status")
    .description("installed / running / enabled, and the last exit of the service's process")
    .option("--print", "also print the installed file")
    .addOption(platformOption())
    .action(
      run(async (ctx: CommandContext, flags: { print?: boolean; platform?: string }) => {
        const target = serviceTarget(ctx.io.env, flags.platform);
        const status = await serviceStatus(target);
        // Whatever the manager says: is a loopd serve up for this home (the service's or another)?
        const daemon = daemonServing(ctx.home) as { url: string; pid?: number } | undefined;
        const serving = daemon ? { pid: daemon.pid ?? null, url: daemon.url } : null;
        const content = flags.print ? installedContent(target) : undefined;
        const view = { ...status, home: ctx.home, serving };
        ctx.print(content === undefined ? view : { ...view, content }, () =>
          [
            describeStatus(status),
            `serving:   ${serving ? `yes, pid ${serving.pid} at ${serving.url}` : "no"} ${pc.dim(`(${ctx.home})`)}`,
            ...(content ? ["", content] : []),
          ].join("\n"),
        );
      }),
    );
}

function describeStatus(status: ServiceStatus): string {
  const yesNo = (value: boolean | null) => (value === null ? pc.dim("unknown") : value ? "yes" : "no");
  const lines = [
    `installed: ${status.installed ? `yes (${status.path})` : `no (${status.path})`}`,
    `running:   ${yesNo(status.running)}${status.state ? pc.dim(` (${status.state})`) : ""}`,
    `enabled:   ${yesNo(status.enabled)}`,
    `last exit: ${status.lastExit ?? pc.dim("—")}`,
  ];
  if (status.managerUnavailable) lines.push(pc.yellow(status.managerUnavailable));
  else if (!status.installed) lines.push(pc.dim("install it with `loopd service install`"));
  return lines.join("\n");
}

/**
 * `loopd open`: the running daemon's dashboard, with the API token in the URL's fragment
 * (browsers never send fragments to servers; the dashboard moves it to local storage).
 * Opens a browser when there is a display; `--print` (and no display) only prints.
 */
import { spawn } from "node:child_process";
import type { Command } from "commander";
import { dashboardUrl, readApiToken } from "../../app/api-token.js";
import { daemonServing } from "../../app/client/connect.js";
import { LoopdError } from "../../domain/errors.js";
import type { CommandContext } from "../context.js";
import { pc } from "../format.js";
import type { Run } from "../program.js";

export function registerOpenCommands(program: Command, run: Run): void {
  program
    .command("open")
    .description("open the running daemon's dashboard in a browser (the URL carries the API token)")
    .option("--print", "only print the URL")
    .action(
      run(async (ctx: CommandContext, options: { print?: boolean }) => {
        const daemon = daemonServing(ctx.home);
        if (!daemon) {
          throw new LoopdError("LOOPD_DAEMON_NOT_RUNNING", `no loopd serve is running for ${ctx.home}`);
        }
        const url = dashboardUrl(daemon.url, (await readApiToken(ctx.home)) ?? null);
        const opener = options.print ? null : browserOpener(ctx.io.env);
        const opened = opener ? await openWith(opener, url) : false;
        ctx.print({ url: daemon.url, dashboardUrl: url, opened }, () =>
          opened
            ? `${url}\n${pc.dim("opened in your browser")}`
            : `${url}${options.print || opener ? "" : `\n${pc.dim("no display found: open the URL in a browser")}`}`,
        );
      }),
    );
}

/** The command that opens a URL on this desktop, or null when there is no display. */
function browserOpener(env: NodeJS.ProcessEnv): { command: string; args: string[] } | null {
  switch (process.platform) {
    case "darwin":
      return { command: "open", args: [] };
    case "win32":
      return { command: "cmd", args: ["/c", "start", '""'] };
    default:
      return env.DISPLAY || env.WAYLAND_DISPLAY ? { command: "xdg-open", args: [] } : null;
  }
}

function openWith(opener: { command: string; args: string[] }, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(opener.command, [...opener.args, url], { stdio: "ignore", detached: true });
    child.once("error", () => resolve(false));
    child.once("spawn", () => {
      child.unref();
      resolve(true);
    });
  });
}

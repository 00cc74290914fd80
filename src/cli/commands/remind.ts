/**
 * `loopd remind "<sentence>"`: shows the plan it understood (and the loopd.yaml it amounts
 * to), asks before scheduling it (`--yes` skips the question, `--json` prints the plan),
 * then creates the watch and wakes a running daemon.
 */
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { Temporal } from "temporal-polyfill";
import { stringify } from "yaml";
import type { PlannedReminder } from "../../app/remind.js";
import { LoopdError } from "../../domain/errors.js";
import { formatUsd } from "../../domain/money.js";
import { isIanaTimeZone, systemTimeZone } from "../../domain/time-zone.js";
import type { CommandContext } from "../context.js";
import { pc, relativeTime } from "../format.js";
import type { Run } from "../program.js";

interface RemindOptions {
  to?: string[];
  name?: string;
  tz?: string;
  yes?: boolean;
  model?: boolean;
}

export function registerRemindCommands(program: Command, run: Run): void {
  program
    .command("remind")
    .description('turn a sentence into a watch: "tomorrow, check <url> and ping me if it isn\'t resolved"')
    .argument("<sentence...>", "what to watch, when, and when to ping you (quote it)")
    .option(
      "--to <channels>",
      "channel(s) to ping, comma-separated (default: the only declared channel)",
      (value: string) =>
        value
          .split(",")
          .map((channel) => channel.trim())
          .filter(Boolean),
    )
    .option("--name <name>", "routine name (default: derived from the subject)")
    .option(
      "--tz <zone>",
      "time zone the sentence is read in (default: the zone the sentence names, else this machine's)",
    )
    .option("-y, --yes", "schedule without asking")
    .option("--no-model", "do not ask the cheap model tier when the parser cannot read the sentence")
    .addHelpText(
      "after",
      `
Examples:
  loopd remind "tomorrow, check in on https://github.com/acme/web/discussions/12 and ping me if it isn't resolved"
  loopd remind "let me know if https://github.com/acme/web/issues/34 isn't fixed by the day before launch"
  loopd remind "bug me if test/sync.test.ts doesn't go green after retry"
  loopd remind "tell me when CI is green on https://github.com/acme/web/pull/7" --to me --yes`,
    )
    .action(
      run(async (ctx: CommandContext, words: string[], options: RemindOptions) => {
        const client = await ctx.client();
        const timeZone = options.tz ?? systemTimeZone();
        if (!isIanaTimeZone(timeZone)) {
          throw new LoopdError("LOOPD_USAGE", `"${timeZone}" is not an IANA time zone`, {
            hint: "Use a zone like Europe/Berlin, America/New_York or UTC.",
          });
        }
        const request = {
          sentence: words.join(" "),
          now: ctx.io.now(),
          timeZone,
          timeZoneGiven: options.tz !== undefined,
          cwd: process.cwd(),
          useModel: options.model !== false,
          ...(options.to ? { to: options.to } : {}),
          ...(options.name ? { name: options.name } : {}),
        };
        const planned = await client.planReminder(request);
        if (ctx.json && !options.yes) {
          ctx.print({ ...planned, scheduled: false }, () => "");
          return;
        }
        if (!ctx.json) ctx.io.stdout(`${describePlan(planned, options.tz, ctx.io.now())}\n`);
        if (!options.yes && !(await confirm("Schedule it?"))) {
          ctx.io.stdout("Not scheduled.\n");
          return;
        }
        // The client wakes a running daemon: it would otherwise see the watch at its next rescan.
        const routine = await client.scheduleReminder(planned, request);
        ctx.print({ ...planned, scheduled: true, routine }, () =>
          [
            `${pc.green("✓")} Scheduled ${pc.bold(routine.name)}${routine.nextDueAt ? `: first look ${relativeTime(routine.nextDueAt, ctx.io.now())}` : ""}.`,
            pc.dim(`\`loopd checks\` lists open watches; \`loopd rm ${routine.name}\` cancels this one.`),
          ].join("\n"),
        );
      }),
    );
}

/** "every 5m, backing off to 2h while nothing changes" (domain/watch-cadence.ts). */
function cadence(when: { every: string; backoff?: string | undefined }): string {
  return `every ${when.every}${when.backoff ? `, backing off to ${when.backoff} while nothing changes` : ""}`;
}

function describePlan(planned: PlannedReminder, givenZone: string | undefined, now: number): string {
  const { plan } = planned;
  const when = plan.when;
  const timeZone = plan.timeZone ?? String(planned.routine.tz ?? givenZone ?? systemTimeZone());
  const zoneSource =
    givenZone !== undefined
      ? "--tz"
      : timeZone === systemTimeZone()
        ? "this machine's"
        : "named in the sentence";
  const at = (iso: string) => `${wallTime(iso, timeZone)}, ${relativeTime(iso, now)}`;
  const whenText =
    when.mode === "at"
      ? `once, ${at(when.at)}`
      : when.mode === "after-retry"
        ? `now, re-running the test up to ${(plan.check.testRetry?.retries ?? 2) + 1} times`
        : when.mode === "by"
          ? `${cadence(when)} until ${at(when.deadline)}; stops early once satisfied`
          : `${cadence(when)} until satisfied`;
  const routine = planned.routine;
  const to = (routine.notify as { to?: string | string[] } | undefined)?.to;
  const channels = to === undefined ? "no channel" : Array.isArray(to) ? to.join(", ") : to;
  const action =
    plan.notifyOn === "satisfied"
      ? `ping ${channels} when it is`
      : when.mode === "by"
        ? `ping ${channels} if it still is not at the deadline`
        : `ping ${channels} if it is not`;
  const source =
    planned.source === "parser"
      ? "the parser"
      : `model tier ${planned.source.model} (${formatUsd(planned.source.costUsd)})`;
  const rows: Array<[string, string]> = [
    ["when", whenText],
    ["zone", `${timeZone} (${zoneSource})`],
    ["subject", plan.subject],
    ["check", planned.check],
    ["action", `${action}${plan.run ? `; start routine ${plan.run}` : ""}`],
  ];
  return [
    pc.bold(`Plan for ${String(routine.name)}`) + pc.dim(` (understood by ${source})`),
    ...rows.map(([label, value]) => `  ${pc.dim(label.padEnd(8))} ${value}`),
    "",
    pc.dim("As loopd.yaml:"),
    pc.dim(
      stringify({ routines: [routine] }, { lineWidth: 0 })
        .trimEnd()
        .split("\n")
        .map((line) => `  ${line}`)
        .join("\n"),
    ),
  ].join("\n");
}

/**
 * "Fri 4 Dec 2026 17:00 Europe/Berlin (16:00 UTC)": what a person checks a reminder against;
 * the UTC reading (with its date when that differs) makes a wrong zone visible.
 */
export function wallTime(iso: string, timeZone: string): string {
  const instant = Temporal.Instant.from(iso);
  const wall = instant.toZonedDateTimeISO(timeZone);
  const text = `${day(wall)} ${wall.toPlainTime().toString({ smallestUnit: "minute" })} ${timeZone}`;
  const utc = instant.toZonedDateTimeISO("UTC");
  if (utc.offsetNanoseconds === wall.offsetNanoseconds) return text;
  const utcTime = utc.toPlainTime().toString({ smallestUnit: "minute" });
  const sameDay = utc.toPlainDate().equals(wall.toPlainDate());
  return `${text} (${sameDay ? "" : `${day(utc)} `}${utcTime} UTC)`;
}

function day(wall: Temporal.ZonedDateTime): string {
  return wall
    .toLocaleString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric" })
    .replace(/,/g, "");
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new LoopdError(
      "LOOPD_CONFIRMATION_REQUIRED",
      "`loopd remind` asks before scheduling, and there is no terminal to ask on",
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await rl.question(`${question} [Y/n] `)).trim().toLowerCase();
    return answer === "" || answer === "y" || answer === "yes";
  } finally {
    rl.close();
  }
}

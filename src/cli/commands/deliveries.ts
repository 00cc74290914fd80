/** `loopd deliveries [--failed] [-n N]` and `loopd deliveries retry <id>`. */
import type { Command } from "commander";
import type { DeliveryView } from "../../app/deliveries.js";
import type { CommandContext } from "../context.js";
import { pc, relativeTime, table } from "../format.js";
import type { Run } from "../program.js";
import { parseCount } from "./routines.js";

export function registerDeliveryCommands(program: Command, run: Run): void {
  const deliveries = program
    .command("deliveries")
    .description("list notification deliveries, newest first")
    .option("--failed", "only dead deliveries and ones still retrying after a failure")
    .option("-n, --limit <n>", "how many", parseCount, 20)
    .action(
      run(async (ctx: CommandContext, options: { failed?: boolean; limit: number }) => {
        const client = await ctx.client();
        const list = await client.listDeliveries({
          ...(options.failed ? { failed: true } : {}),
          limit: options.limit,
        });
        // The totals line is for people; scripts get the list alone.
        const counts = ctx.json ? undefined : await client.deliveryCounts();
        ctx.print(list, () =>
          [
            list.length === 0
              ? options.failed
                ? "No failed deliveries."
                : "No deliveries yet."
              : deliveriesTable(list, ctx.io.now()),
            pc.dim(countsLine(counts!)),
          ].join("\n"),
        );
      }),
    );

  deliveries
    .command("retry")
    .description("send a pending or dead delivery again now")
    .argument("<id>", "delivery id (the short id from `loopd deliveries` is enough)")
    .action(
      run(async (ctx: CommandContext, id: string) => {
        const delivery = await (await ctx.client()).retryDelivery(id);
        ctx.print(
          delivery,
          () => `Queued ${delivery.id} (${delivery.type} → ${delivery.channel}) for delivery now.`,
        );
      }),
    );
}

/** `evt_1b2c3d4e-…` → `1b2c3d4e`: enough to tell rows apart and to pass to `retry`. */
export function shortDeliveryId(id: string): string {
  return id.replace(/^evt_/, "").slice(0, 8);
}

export function deliveriesTable(deliveries: DeliveryView[], now: number): string {
  return table(
    ["ID", "TYPE", "CHANNEL", "ROUTINE", "STATUS", "ATTEMPTS", "NEXT/DELIVERED", "LAST ERROR"],
    deliveries.map((delivery) => [
      shortDeliveryId(delivery.id),
      delivery.type,
      delivery.channel === "" ? pc.dim("(none)") : delivery.channel,
      delivery.routine ?? pc.dim("—"),
      colourDeliveryStatus(delivery.status),
      String(delivery.attempts),
      nextOrDelivered(delivery, now),
      delivery.lastError === null ? "" : oneLine(delivery.lastError),
    ]),
  );
}

/** "3 pending, 10 delivered, 0 dead", then held/digested when there are any. */
export function countsLine(counts: Record<DeliveryView["status"], number>): string {
  const parts = [`${counts.pending} pending`, `${counts.delivered} delivered`, `${counts.dead} dead`];
  if (counts.held > 0) parts.push(`${counts.held} held for digests`);
  if (counts.digested > 0) parts.push(`${counts.digested} digested`);
  return parts.join(", ");
}

function nextOrDelivered(delivery: DeliveryView, now: number): string {
  if (delivery.status === "pending") return relativeTime(delivery.nextAttemptAt, now);
  if (delivery.status === "held") {
    return delivery.digestUntil === null
      ? "in digest"
      : `in digest until ${localTime(delivery.digestUntil, now)} (${relativeTime(delivery.digestUntil, now)})`;
  }
  // Digested: when the row was sealed into its digest (the digest row is listed on its own).
  return delivery.deliveredAt === null ? pc.dim("—") : relativeTime(delivery.deliveredAt, now);
}

/** "14:30" today, "Nov 28 14:30" on another day: the digest window's end, in local time. */
function localTime(iso: string, now: number): string {
  const at = new Date(iso);
  const time = at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return at.toDateString() === new Date(now).toDateString()
    ? time
    : `${at.toLocaleDateString("en-US", { month: "short", day: "numeric" })} ${time}`;
}

function oneLine(text: string, max = 80): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function colourDeliveryStatus(status: DeliveryView["status"]): string {
  if (status === "delivered") return pc.green(status);
  if (status === "dead") return pc.red(status);
  if (status === "held") return pc.yellow(status);
  if (status === "digested") return pc.dim(status);
  return pc.cyan(status);
}

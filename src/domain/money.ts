/**
 * How every face shows a USD amount (CLI, API messages, dashboard, notifications, refusals):
 * whole cents from $1 up, four significant figures below, so a $0.0013 run never reads as
 * $0.00 and a refusal's numbers can be checked against the cap they were compared with.
 */

/** Below a ten-billionth of a dollar an amount is noise from float sums; shown as $0. */
const MAX_DECIMALS = 10;

export function formatUsd(amount: number): string {
  if (!Number.isFinite(amount)) return `$${amount}`;
  const sign = amount < 0 ? "-" : "";
  const size = Math.abs(amount);
  if (size >= 1) return `${sign}$${size.toFixed(2)}`;
  // Four significant figures: as many decimals as it takes to reach the fourth digit.
  const decimals = Math.min(MAX_DECIMALS, 3 - Math.floor(Math.log10(size)));
  const fixed = size.toFixed(Math.max(2, decimals));
  if (Number(fixed) === 0) return "$0";
  // Trailing zeros say nothing below a cent, but cents keep two digits ($0.50, not $0.5).
  const [whole, fraction = ""] = fixed.split(".");
  return `${sign}$${whole}.${fraction.replace(/0+$/, "").padEnd(2, "0")}`;
}

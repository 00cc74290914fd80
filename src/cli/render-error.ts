/** How errors reach the terminal: `error[CODE]: message` + `hint:`, or one JSON object with --json. */
import type { ConfigIssue } from "../config/load-config.js";
import type { LoopdError } from "../domain/errors.js";
import { pc } from "./format.js";

export function renderError(error: LoopdError, options: { json: boolean; debug: boolean }): string {
  if (options.json) return `${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`;
  const lines = [`${pc.red(pc.bold(`error[${error.code}]`))}: ${error.message}`];
  for (const issue of extraIssues(error)) {
    const where = issue.line !== undefined ? `line ${issue.line}: ` : "";
    lines.push(`  ${where}${issue.path}: ${issue.message}`);
  }
  lines.push(`${pc.dim("hint:")} ${error.hint}`);
  if (options.debug && error.cause instanceof Error && error.cause.stack)
    lines.push(pc.dim(error.cause.stack));
  return `${lines.join("\n")}\n`;
}

/** A config error's message shows its first issue; the rest are listed below it. */
function extraIssues(error: LoopdError): ConfigIssue[] {
  const details = error.details as { issues?: ConfigIssue[] } | undefined;
  return details?.issues?.slice(1) ?? [];
}

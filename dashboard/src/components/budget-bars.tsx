/** One bar per daily/monthly USD cap: spent so far this period against the limit. */
import { money } from "../format.js";
import { href } from "../route.js";
import type { BudgetLine } from "../types.js";

export function BudgetBars({ budgets }: { budgets: BudgetLine[] }) {
  if (budgets.length === 0) return null;
  return (
    <section>
      <h2>Budgets</h2>
      <ul className="budget-bars">
        {budgets.map((line) => {
          const share = line.limitUsd > 0 ? Math.min(line.spentUsd / line.limitUsd, 1) : 1;
          const level = share >= 1 ? "over" : share >= 0.8 ? "near" : "ok";
          return (
            <li key={`${line.routine ?? ""}/${line.period}`} data-testid="budget-bar">
              <div className="budget-label">
                <span>
                  {line.routine ? <a href={href.routine(line.routine)}>{line.routine}</a> : "All routines"}{" "}
                  <span className="muted">per {line.period}</span>
                </span>
                <span className="muted">
                  {money(line.spentUsd)} of {money(line.limitUsd)}
                </span>
              </div>
              <div className="budget-track" aria-hidden="true">
                <span className={`budget-fill ${level}`} style={{ width: `${(share * 100).toFixed(1)}%` }} />
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

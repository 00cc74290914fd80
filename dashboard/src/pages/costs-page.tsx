/** What the last N days cost: per day (split by routine where possible), per routine, per model. */
import { useState } from "react";
import { api } from "../api.js";
import { BudgetBars } from "../components/budget-bars.js";
import { CostChart, daysSince, seriesColour } from "../components/cost-chart.js";
import { EmptyState } from "../components/empty-state.js";
import { Loaded } from "../components/loaded.js";
import { type CostOverview, loadCostOverview } from "../cost-series.js";
import { money, tokens } from "../format.js";
import { useResource } from "../hooks/use-resource.js";
import { href } from "../route.js";
import type { CostsView } from "../types.js";

const WINDOWS = ["7d", "30d", "90d"];

export function CostsPage() {
  const [since, setSince] = useState("30d");
  const overview = useResource(() => loadCostOverview(since), since);
  const budgets = useResource(api.budgets, 0);
  return (
    <main>
      <div className="page-head">
        <h1>Costs</h1>
        <fieldset className="segmented">
          <legend className="visually-hidden">Window</legend>
          {WINDOWS.map((window) => (
            <button
              key={window}
              type="button"
              className={window === since ? "selected" : "secondary"}
              aria-pressed={window === since}
              onClick={() => setSince(window)}
            >
              {window}
            </button>
          ))}
        </fieldset>
      </div>
      {budgets.data ? <BudgetBars budgets={budgets.data} /> : null}
      <Loaded resource={overview}>{(data) => <CostsBody data={data} />}</Loaded>
    </main>
  );
}

function CostsBody({ data }: { data: CostOverview }) {
  const { total } = data.byDay;
  if (total.runs === 0 && total.costUsd === 0) {
    return (
      <EmptyState title="No spend recorded in this window">
        Costs appear once agent runs report tokens or dollars. Set a <code>budget:</code> on a routine in{" "}
        <code>loopd.yaml</code> to cap it.
      </EmptyState>
    );
  }
  const days = daysSince(data.byDay.since, Date.now());
  return (
    <>
      <div className="stats">
        <Stat label="Spent" value={money(total.costUsd)} />
        <Stat label="Runs" value={String(total.runs)} />
        <Stat label="Tokens in" value={tokens(total.tokensIn)} />
        <Stat label="Tokens out" value={tokens(total.tokensOut)} />
      </div>
      <section>
        <h2>Per day{data.series.length > 1 ? ", by routine" : ""}</h2>
        <CostChart days={days} series={data.series} />
      </section>
      <div className="columns">
        <section>
          <h2>By routine</h2>
          <BreakdownTable
            view={data.byRoutine}
            label="Routine"
            link={(key) => href.routine(key)}
            colourOf={(key) => {
              const index = data.series.findIndex((one) => one.name === key);
              return data.series.length > 1 && index >= 0 ? seriesColour(index) : undefined;
            }}
          />
        </section>
        <section>
          <h2>By model</h2>
          <BreakdownTable view={data.byModel} label="Model" />
        </section>
      </div>
    </>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="stat">
      <div className="stat-value">{value}</div>
      <div className="muted small">{label}</div>
    </div>
  );
}

function BreakdownTable({
  view,
  label,
  link,
  colourOf,
}: {
  view: CostsView;
  label: string;
  link?: (key: string) => string;
  colourOf?: (key: string) => string | undefined;
}) {
  const max = Math.max(...view.rows.map((row) => row.costUsd), 0.0001);
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>{label}</th>
            <th className="num">Runs</th>
            <th className="num">Tokens in/out</th>
            <th className="num">Cost</th>
            <th className="bar-col">
              <span className="visually-hidden">Share</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {view.rows.map((row) => (
            <tr key={row.key}>
              <td>{link ? <a href={link(row.key)}>{row.key}</a> : row.key}</td>
              <td className="num">{row.runs}</td>
              <td className="num">
                {tokens(row.tokensIn)} / {tokens(row.tokensOut)}
              </td>
              <td className="num">{money(row.costUsd)}</td>
              <td className="bar-col">
                <span
                  className="share-bar"
                  style={{
                    width: `${(row.costUsd / max) * 100}%`,
                    ...(colourOf?.(row.key) ? { background: colourOf(row.key) } : {}),
                  }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Spend per UTC day as stacked bars, one colour per series (a routine, or "total" when the
 * API cannot split days). Empty days are drawn as gaps so the time axis stays honest.
 */
import { money } from "../format.js";

export interface CostSeries {
  name: string;
  /** UTC day (YYYY-MM-DD) → USD. */
  byDay: ReadonlyMap<string, number>;
}

const HEIGHT = 180;
const TOP = 12;
const BOTTOM = 20;
const LEFT = 48;
const BAR_GAP = 3;

export function seriesColour(index: number): string {
  return `var(--series-${(index % 7) + 1})`;
}

export function CostChart({ days, series }: { days: string[]; series: CostSeries[] }) {
  const totals = days.map((day) => series.reduce((sum, one) => sum + (one.byDay.get(day) ?? 0), 0));
  const max = Math.max(...totals, 0.01);
  const width = 960;
  const slot = (width - LEFT) / Math.max(days.length, 1);
  const plot = HEIGHT - TOP - BOTTOM;
  const y = (usd: number) => (usd / max) * plot;
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${width} ${HEIGHT}`}
        className="cost-chart"
        role="img"
        aria-label={`Spend per day, ${days[0]} to ${days[days.length - 1]}`}
      >
        <text x={LEFT - 6} y={TOP + 4} className="tick" textAnchor="end">
          {money(max)}
        </text>
        <text x={LEFT - 6} y={TOP + plot} className="tick" textAnchor="end">
          $0
        </text>
        <line x1={LEFT} x2={width} y1={TOP + 0.5} y2={TOP + 0.5} className="grid" />
        <line x1={LEFT} x2={width} y1={TOP + plot + 0.5} y2={TOP + plot + 0.5} className="axis" />
        {days.map((day, index) => {
          let base = TOP + plot;
          return (
            <g key={day}>
              {series.map((one, seriesIndex) => {
                const usd = one.byDay.get(day) ?? 0;
                if (usd <= 0) return null;
                const height = Math.max(1, y(usd));
                base -= height;
                return (
                  <rect
                    key={one.name}
                    x={LEFT + index * slot + BAR_GAP / 2}
                    y={base}
                    width={Math.max(1, slot - BAR_GAP)}
                    height={height}
                    fill={seriesColour(seriesIndex)}
                  >
                    <title>{`${day} · ${one.name}: ${money(usd)}`}</title>
                  </rect>
                );
              })}
              {showTick(index, days.length) && (
                <text
                  x={LEFT + index * slot + slot / 2}
                  y={HEIGHT - 4}
                  className="tick"
                  textAnchor={index === days.length - 1 ? "end" : "middle"}
                >
                  {day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      {series.length > 1 && (
        <figcaption className="legend">
          {series.map((one, index) => (
            <span key={one.name}>
              <span className="swatch" style={{ background: seriesColour(index) }} aria-hidden="true" />
              {one.name}
            </span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}

/** First, last and every 7th day, skipping one that would crowd the last label. */
function showTick(index: number, count: number): boolean {
  if (index === 0 || index === count - 1) return true;
  return index % 7 === 0 && count - 1 - index >= 4;
}

/** The UTC days from `since` through today, in order. */
export function daysSince(sinceIso: string, now: number): string[] {
  const days: string[] = [];
  const start = new Date(sinceIso);
  const cursor = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  for (let at = cursor; at <= now; at += 86_400_000) days.push(new Date(at).toISOString().slice(0, 10));
  return days;
}

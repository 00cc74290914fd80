/** Top bar: navigation and which daemon (version, store, worker) the dashboard talks to. */
import type { Route } from "../route.js";
import { href } from "../route.js";
import type { Health } from "../types.js";

const LINKS: Array<{ label: string; to: string; pages: Route["page"][] }> = [
  { label: "Routines", to: href.routines(), pages: ["routines", "routine"] },
  { label: "Runs", to: href.runs(), pages: ["runs", "run"] },
  { label: "Checks", to: href.checks(), pages: ["checks"] },
  { label: "Costs", to: href.costs(), pages: ["costs"] },
  { label: "Deliveries", to: href.deliveries(), pages: ["deliveries"] },
];

export function Header({ route, health }: { route: Route; health: Health | undefined }) {
  return (
    <header className="header">
      <a className="brand" href={href.routines()}>
        loopd
      </a>
      <nav aria-label="Main">
        {LINKS.map((link) => (
          <a key={link.to} href={link.to} aria-current={link.pages.includes(route.page) ? "page" : undefined}>
            {link.label}
          </a>
        ))}
      </nav>
      <div className="health muted" title={health ? `worker ${health.workerId}` : undefined}>
        {health ? (
          <>
            <span className={`dot ${health.ok ? "dot-ok" : "dot-bad"}`} aria-hidden="true" />v{health.version}{" "}
            · <span title={health.store}>{shortStore(health.store)}</span> · {health.activeRuns} running
          </>
        ) : (
          "connecting…"
        )}
      </div>
    </header>
  );
}

/** "sqlite /home/me/project/.loopd/loopd.db" → "sqlite …/.loopd/loopd.db"; the full path is the tooltip. */
function shortStore(store: string): string {
  return store.replace(/(\S*\/)([^/\s]+\/[^/\s]+)$/, (whole, _head: string, tail: string) =>
    whole.split("/").length > 3 ? `…/${tail}` : whole,
  );
}

/**
 * Hash routes (`#/routines/foo`, `#/runs/12`): the dashboard is static files, so the
 * server never has to know the client's paths.
 */
import { useEffect, useState } from "react";

export type Route =
  | { page: "routines" }
  | { page: "routine"; name: string }
  | { page: "runs" }
  | { page: "run"; id: number }
  | { page: "costs" }
  | { page: "checks" }
  | { page: "deliveries" }
  | { page: "not-found"; path: string };

export function parseRoute(hash: string): Route {
  // `#token=…&/runs/5` is about to be adopted (token.ts): route by what follows the token.
  const routed = hash.startsWith("#token=") ? hash.slice(hash.indexOf("&") + 1 || hash.length) : hash;
  const path = routed.replace(/^#/, "").replace(/\/+$/, "") || "/";
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [first, second] = parts;
  if (parts.length === 0 || (first === "routines" && second === undefined)) return { page: "routines" };
  if (first === "routines" && second !== undefined && parts.length === 2)
    return { page: "routine", name: second };
  if (first === "runs" && second === undefined) return { page: "runs" };
  if (first === "runs" && second !== undefined && /^\d+$/.test(second))
    return { page: "run", id: Number(second) };
  if (parts.length === 1 && (first === "costs" || first === "checks" || first === "deliveries")) {
    return { page: first };
  }
  return { page: "not-found", path };
}

export const href = {
  routines: () => "#/routines",
  routine: (name: string) => `#/routines/${encodeURIComponent(name)}`,
  runs: () => "#/runs",
  run: (id: number) => `#/runs/${id}`,
  costs: () => "#/costs",
  checks: () => "#/checks",
  deliveries: () => "#/deliveries",
};

/**
 * A path like `/runs/12` (a link the daemon printed, served the index page as a fallback)
 * becomes `/#/runs/12`, so path and hash links both land on the right page.
 */
export function adoptPathRoute(): void {
  const { pathname, search, hash } = window.location;
  if (pathname === "/" || pathname === "/index.html" || (hash.startsWith("#/") && hash !== "#/")) return;
  window.history.replaceState(null, "", `/${search}#${pathname}`);
}

export function navigate(to: string): void {
  window.location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

/** The shell: header, the page for the current hash route, and the token screen on 401. */
import { useEffect, useState } from "react";
import { api, onUnauthorized } from "./api.js";
import { Header } from "./components/header.js";
import { TokenScreen } from "./components/token-screen.js";
import { useLiveUpdates } from "./hooks/use-live-updates.js";
import { useResource } from "./hooks/use-resource.js";
import { ChecksPage } from "./pages/checks-page.js";
import { CostsPage } from "./pages/costs-page.js";
import { DeliveriesPage } from "./pages/deliveries-page.js";
import { NotFoundPage } from "./pages/not-found-page.js";
import { RoutinePage } from "./pages/routine-page.js";
import { RoutinesPage } from "./pages/routines-page.js";
import { RunPage } from "./pages/run-page.js";
import { RunsPage } from "./pages/runs-page.js";
import { type Route, useRoute } from "./route.js";
import { adoptTokenFromFragment } from "./token.js";

const HEALTH_EVERY_MS = 15_000;

export function App() {
  const route = useRoute();
  const [needsToken, setNeedsToken] = useState(false);
  // Bumped after a new token is saved: remounts the page so everything loads again.
  const [session, setSession] = useState(0);
  const health = useResource(api.health, session);

  useEffect(() => onUnauthorized(() => setNeedsToken(true)), []);
  // A `#token=…` link opened in a tab that already shows the dashboard only changes the hash.
  useEffect(() => {
    const adopt = () => {
      if (!adoptTokenFromFragment()) return;
      setNeedsToken(false);
      setSession((value) => value + 1);
    };
    window.addEventListener("hashchange", adopt);
    return () => window.removeEventListener("hashchange", adopt);
  }, []);
  useEffect(() => {
    const timer = setInterval(health.reload, HEALTH_EVERY_MS);
    return () => clearInterval(timer);
  }, [health.reload]);
  // "N running" in the header follows runs starting and finishing, not just the timer.
  useLiveUpdates(health.reload);

  if (needsToken) {
    return (
      <TokenScreen
        onSaved={() => {
          setNeedsToken(false);
          setSession((value) => value + 1);
        }}
      />
    );
  }
  return (
    <>
      <Header route={route} health={health.data} />
      <Page key={session} route={route} />
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "routines":
      return <RoutinesPage />;
    case "routine":
      return <RoutinePage key={route.name} name={route.name} />;
    case "runs":
      return <RunsPage />;
    case "run":
      return <RunPage key={route.id} id={route.id} />;
    case "costs":
      return <CostsPage />;
    case "checks":
      return <ChecksPage />;
    case "deliveries":
      return <DeliveriesPage />;
    case "not-found":
      return <NotFoundPage path={route.path} />;
  }
}

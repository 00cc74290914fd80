/** Entry point: adopt a `#token=…` and a path route from the URL, then render the app. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.js";
import { adoptPathRoute } from "./route.js";
import { adoptTokenFromFragment } from "./token.js";
import "./styles.css";

adoptTokenFromFragment();
adoptPathRoute();
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

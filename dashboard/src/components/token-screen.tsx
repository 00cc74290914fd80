/** Shown on 401: the one step a new user needs to take to get in. */
import { type FormEvent, useState } from "react";
import { saveToken } from "../token.js";

export function TokenScreen({ onSaved }: { onSaved: () => void }) {
  const [token, setToken] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim() === "") return;
    saveToken(token);
    onSaved();
  };
  return (
    <main className="token-screen">
      <h1>loopd needs its API token</h1>
      <p>
        Paste the token printed by <code>loopd serve</code>, or run <code>loopd open</code> to open the
        dashboard already signed in.
      </p>
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(event) => setToken(event.target.value)}
        />
        <button type="submit">Continue</button>
      </form>
      <p className="muted">The token is kept in this browser's local storage.</p>
    </main>
  );
}

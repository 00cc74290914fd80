/** An unknown hash route. */
import { EmptyState } from "../components/empty-state.js";
import { href } from "../route.js";

export function NotFoundPage({ path }: { path: string }) {
  return (
    <main>
      <EmptyState title={`Nothing at ${path}`}>
        Go back to the <a href={href.routines()}>routines</a>.
      </EmptyState>
    </main>
  );
}

/** Renders a resource: a spinner line first, the error box on failure, the content after. */
import type { ReactNode } from "react";
import type { Resource } from "../hooks/use-resource.js";
import { ErrorBox } from "./error-box.js";

export function Loaded<T>({
  resource,
  children,
}: {
  resource: Resource<T>;
  children: (data: T) => ReactNode;
}) {
  if (resource.data !== undefined) {
    return (
      <>
        {resource.error && <ErrorBox error={resource.error} onRetry={resource.reload} />}
        {children(resource.data)}
      </>
    );
  }
  if (resource.error) return <ErrorBox error={resource.error} onRetry={resource.reload} />;
  return <p className="muted loading">Loading…</p>;
}

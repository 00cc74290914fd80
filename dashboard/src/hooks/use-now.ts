/** The current time, re-rendering every `everyMs`: keeps "in 5 min" honest. */
import { useEffect, useState } from "react";

export function useNow(everyMs = 5_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

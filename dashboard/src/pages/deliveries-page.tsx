/** The notification outbox: what was sent where, what is waiting, what failed and why. */
import { api } from "../api.js";
import { EmptyState } from "../components/empty-state.js";
import { Loaded } from "../components/loaded.js";
import { RelativeTime } from "../components/relative-time.js";
import { StatusBadge } from "../components/status-badge.js";
import { useNow } from "../hooks/use-now.js";
import { useResource } from "../hooks/use-resource.js";
import { href } from "../route.js";
import type { DeliveryView } from "../types.js";

export function DeliveriesPage() {
  const deliveries = useResource(() => api.deliveries(50));
  const now = useNow();
  return (
    <main>
      <div className="page-head">
        <h1>Deliveries</h1>
        <button type="button" className="secondary" onClick={deliveries.reload}>
          Refresh
        </button>
      </div>
      <Loaded resource={deliveries}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No notifications yet">
              Add a <code>notify:</code> rule to a routine (desktop, email, Slack or a webhook) and events
              such as failures land here.
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Created</th>
                    <th>Event</th>
                    <th>Channel</th>
                    <th>Routine / run</th>
                    <th>Status</th>
                    <th className="num">Tries</th>
                    <th>Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((delivery) => (
                    <tr key={delivery.id}>
                      <td>
                        <RelativeTime iso={delivery.createdAt} now={now} />
                      </td>
                      <td>{delivery.type}</td>
                      <td>{delivery.channel || <span className="muted">(none)</span>}</td>
                      <td>
                        {delivery.routine && <a href={href.routine(delivery.routine)}>{delivery.routine}</a>}
                        {delivery.runId !== null && (
                          <>
                            {" "}
                            <a href={href.run(delivery.runId)}>#{delivery.runId}</a>
                          </>
                        )}
                      </td>
                      <td>
                        <StatusBadge value={delivery.status} />
                      </td>
                      <td className="num">{delivery.attempts}</td>
                      <td className="summary">
                        <DeliveryDetail delivery={delivery} now={now} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </main>
  );
}

function DeliveryDetail({ delivery, now }: { delivery: DeliveryView; now: number }) {
  if (delivery.lastError) return <span className="bad-text">{delivery.lastError}</span>;
  if (delivery.deliveredAt) {
    return (
      <span className="muted">
        {delivery.status === "digested" ? "in digest " : "sent "}
        <RelativeTime iso={delivery.deliveredAt} now={now} />
      </span>
    );
  }
  if (delivery.digestUntil) {
    return (
      <span className="muted">
        held for digest until <RelativeTime iso={delivery.digestUntil} now={now} />
      </span>
    );
  }
  if (delivery.nextAttemptAt) {
    return (
      <span className="muted">
        next try <RelativeTime iso={delivery.nextAttemptAt} now={now} />
      </span>
    );
  }
  return null;
}

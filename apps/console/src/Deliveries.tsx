import {
  type Attempt,
  type Delivery,
  type DeliveryStatus,
  deliveryStatuses,
  type EventType,
  eventTypes,
} from '@callhook/contract';
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { $api, errorMessage, fetchClient } from './api.js';
import { Headers, isoFromLocal, localFromIso, OutcomeBadge, StatusBadge, Time } from './bits.js';

interface Filters {
  status?: DeliveryStatus;
  event_type?: EventType;
  call_id?: string;
  subscription_id?: number;
  since?: string;
  until?: string;
}

const PATH = '/extension/{extension_id}/delivery/';

export function Deliveries({
  ext,
  sub,
  call,
}: {
  ext: number;
  sub?: number | undefined;
  call?: string | undefined;
}) {
  const id = useId();
  const [filters, setFilters] = useState<Filters>({
    ...(sub !== undefined ? { subscription_id: sub } : {}),
    ...(call !== undefined ? { call_id: call } : {}),
  });
  const [open, setOpen] = useState<Delivery | undefined>();
  const subs = $api.useQuery('get', '/extension/{extension_id}/event/', {
    params: { path: { extension_id: String(ext) } },
  });
  const log = $api.useInfiniteQuery(
    'get',
    PATH,
    { params: { path: { extension_id: String(ext) }, query: { ...filters, per_page: 50 } } },
    {
      pageParamName: 'cursor',
      initialPageParam: null,
      getNextPageParam: (last) => last.next_cursor ?? undefined,
      refetchInterval: 3_000,
    },
  );
  const items = log.data?.pages.flatMap((p) => p.items) ?? [];

  const apply = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const text = (name: string) => {
      const v = d.get(name);
      return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
    };
    const next: Filters = {};
    const status = text('status');
    if (status) next.status = status as DeliveryStatus;
    const type = text('event_type');
    if (type) next.event_type = type as EventType;
    const callId = text('call_id');
    if (callId) next.call_id = callId;
    const subId = text('subscription_id');
    if (subId) next.subscription_id = Number(subId);
    const since = isoFromLocal(d.get('since'));
    if (since) next.since = since;
    const until = isoFromLocal(d.get('until'));
    if (until) next.until = until;
    setFilters(next);
    setOpen(undefined);
  };

  return (
    <section aria-labelledby={`${id}-title`}>
      <div className="section-head">
        <h1 id={`${id}-title`}>Deliveries of extension {ext}</h1>
      </div>
      <form className="card filters" onSubmit={apply} aria-label="Filter deliveries">
        <label>
          Status
          <select name="status" defaultValue={filters.status ?? ''}>
            <option value="">any</option>
            {deliveryStatuses.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Event type
          <select name="event_type" defaultValue={filters.event_type ?? ''}>
            <option value="">any</option>
            {eventTypes.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Subscription
          <select name="subscription_id" defaultValue={filters.subscription_id ?? ''}>
            <option value="">any</option>
            {subs.data?.map((s) => (
              <option key={s.id} value={s.id}>
                #{s.id} {s.event_type}
              </option>
            ))}
          </select>
        </label>
        <label>
          CallID
          <input name="call_id" defaultValue={filters.call_id ?? ''} spellCheck={false} />
        </label>
        <label>
          Since
          <input name="since" type="datetime-local" defaultValue={localFromIso(filters.since)} />
        </label>
        <label>
          Until
          <input name="until" type="datetime-local" defaultValue={localFromIso(filters.until)} />
        </label>
        <div className="row-buttons">
          <button type="submit">Apply</button>
        </div>
      </form>
      <Recover
        ext={ext}
        subscriptionIds={
          filters.subscription_id ? [filters.subscription_id] : (subs.data ?? []).map((s) => s.id)
        }
      />
      {log.isError && <p role="alert">{errorMessage(log.error)}</p>}
      <div className="split">
        <div className="table-wrap">
          <table aria-describedby={`${id}-count`}>
            <caption id={`${id}-count`} className="sr-only">
              Deliveries, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last</th>
                <th scope="col">CallID</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr
                  key={d.id}
                  className={open?.id === d.id ? 'selected' : undefined}
                  data-testid="delivery-row"
                  data-delivery={d.id}
                  data-status={d.status}
                >
                  <td>
                    <button
                      type="button"
                      className="link"
                      onClick={() => setOpen(d)}
                      aria-expanded={open?.id === d.id}
                      aria-controls={`${id}-detail`}
                    >
                      <Time iso={d.created_at} />
                    </button>
                  </td>
                  <td>
                    <span className="tag">{d.event_type}</span>{' '}
                    <span className="muted small">#{d.subscription_id}</span>
                  </td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>{d.attempts}</td>
                  <td>{d.last_status_code ?? (d.last_outcome ? d.last_outcome.replace('_', ' ') : '—')}</td>
                  <td className="mono small">{d.call_id ? d.call_id.slice(0, 12) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {log.isPending && <p>Loading…</p>}
          {log.data && items.length === 0 && <p className="muted">No deliveries match.</p>}
          {log.hasNextPage && (
            <button
              type="button"
              className="secondary"
              onClick={() => log.fetchNextPage()}
              disabled={log.isFetchingNextPage}
            >
              {log.isFetchingNextPage ? 'Loading…' : 'Older deliveries'}
            </button>
          )}
        </div>
        <div id={`${id}-detail`}>
          {open && <DeliveryDetailPanel ext={ext} delivery={open} onClose={() => setOpen(undefined)} />}
        </div>
      </div>
    </section>
  );
}

function Recover({ ext, subscriptionIds }: { ext: number; subscriptionIds: number[] }) {
  const queryClient = useQueryClient();
  const [result, setResult] = useState<string | undefined>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const since = isoFromLocal(new FormData(e.currentTarget).get('recover_since'));
    if (!since) {
      setResult('Choose the time to recover from.');
      return;
    }
    let recovered = 0;
    for (const id of subscriptionIds) {
      const { data, error } = await fetchClient.POST(
        '/extension/{extension_id}/event/{id}/delivery/recover/',
        {
          params: { path: { extension_id: String(ext), id } },
          body: { since },
        },
      );
      if (error) {
        setResult(errorMessage(error));
        return;
      }
      recovered += data.recovered;
    }
    setResult(`${recovered} failed ${recovered === 1 ? 'delivery is' : 'deliveries are'} queued again.`);
    await queryClient.invalidateQueries({ queryKey: ['get', PATH] });
  };
  return (
    <form className="card inline" onSubmit={submit} aria-label="Recover failed deliveries">
      <label>
        Send every failed delivery again since
        <input name="recover_since" type="datetime-local" />
      </label>
      <button type="submit" className="secondary" disabled={subscriptionIds.length === 0}>
        Recover {subscriptionIds.length === 1 ? `#${subscriptionIds[0]}` : 'all subscriptions'}
      </button>
      {result && <output aria-live="polite">{result}</output>}
    </form>
  );
}

export function DeliveryDetailPanel({
  ext,
  delivery,
  onClose,
}: {
  ext: number;
  delivery: Pick<Delivery, 'id' | 'subscription_id'>;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const path = { extension_id: String(ext), id: delivery.subscription_id, delivery_id: delivery.id };
  const detail = $api.useQuery(
    'get',
    '/extension/{extension_id}/event/{id}/delivery/{delivery_id}',
    { params: { path } },
    {
      refetchInterval: (q) =>
        q.state.data?.status === 'pending' || q.state.data?.status === 'retrying' ? 500 : false,
    },
  );
  const retry = $api.useMutation(
    'post',
    '/extension/{extension_id}/event/{id}/delivery/{delivery_id}/retry/',
  );
  const d = detail.data;
  return (
    <article className="card detail" aria-label={`Delivery ${delivery.id}`} data-testid="delivery-detail">
      <div className="detail-head">
        <h2>
          Delivery <code>{delivery.id}</code>
        </h2>
        <button type="button" className="secondary small" onClick={onClose} aria-label="Close the delivery">
          ✕
        </button>
      </div>
      {detail.isError && <p role="alert">{errorMessage(detail.error)}</p>}
      {d && (
        <>
          <p className="facts">
            <StatusBadge status={d.status} /> <span className="tag">{d.event_type}</span>{' '}
            <span>subscription #{d.subscription_id}</span> <span>{d.attempts} attempt(s)</span>
            {d.next_attempt_at && (
              <span>
                next <Time iso={d.next_attempt_at} />
              </span>
            )}
          </p>
          <div className="row-buttons">
            <button
              type="button"
              disabled={retry.isPending}
              onClick={async () => {
                await retry.mutateAsync({ params: { path } });
                await detail.refetch();
                await queryClient.invalidateQueries({ queryKey: ['get', PATH] });
              }}
            >
              Retry now
            </button>
            {retry.isError && <span role="alert">{errorMessage(retry.error)}</span>}
          </div>
          {d.payload && (
            <details>
              <summary>Event data (form-encoded)</summary>
              <pre className="body">{d.payload}</pre>
            </details>
          )}
          <h3>Attempts</h3>
          {d.attempt_log.length === 0 && <p className="muted">No attempt yet.</p>}
          <ol className="attempts" reversed>
            {d.attempt_log
              .map((attempt, at) => ({ attempt, n: at + 1 }))
              .reverse()
              .map(({ attempt, n }) => (
                <AttemptItem key={n} attempt={attempt} n={n} />
              ))}
          </ol>
        </>
      )}
    </article>
  );
}

function AttemptItem({ attempt: a, n }: { attempt: Attempt; n: number }) {
  return (
    <li className="attempt" data-testid="attempt" data-outcome={a.outcome}>
      <p className="facts">
        <strong>#{n}</strong> <Time iso={a.attempted_at} /> <OutcomeBadge outcome={a.outcome} />
        {a.status_code != null && <span className="mono">HTTP {a.status_code}</span>}
        <span>{Math.round(a.latency_ms)} ms</span>
      </p>
      {a.error && a.outcome !== 'http_error' && <p className="error">{a.error}</p>}
      {a.request && (
        <details>
          <summary>
            Request: <span className="mono">{a.request.method}</span>{' '}
            <span className="break">
              {a.request.url.length > 90 ? `${a.request.url.slice(0, 90)}…` : a.request.url}
            </span>
          </summary>
          <p className="mono small break">{a.request.url}</p>
          <Headers headers={a.request.headers} />
          {a.request.body && <pre className="body">{a.request.body}</pre>}
        </details>
      )}
      {a.response ? (
        <details open={a.outcome !== 'success'}>
          <summary>Response: HTTP {a.response.status}</summary>
          <Headers headers={a.response.headers} />
          {a.response.body !== null && a.response.body !== undefined ? (
            <pre className="body" data-testid="response-body">
              {a.response.body}
              {a.response.body_truncated ? '\n… (cut at 4 KB)' : ''}
            </pre>
          ) : (
            <p className="muted">Empty body</p>
          )}
        </details>
      ) : (
        a.response_body && <pre className="body">{a.response_body}</pre>
      )}
    </li>
  );
}

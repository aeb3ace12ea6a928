import {
  type AnyWebhookPayload,
  type Delivery,
  type SimulationScenario,
  type StreamEvent,
  simulationScenarios,
  webhookPayloadSchemas,
} from '@callhook/contract';
import { assembleCall, type CallEvent, type CallRecord, type Party } from '@callhook/receiver/calls';
import { type FormEvent, useEffect, useId, useMemo, useState } from 'react';
import type { Navigate } from './App.js';
import { $api, errorMessage } from './api.js';
import { eventTimeText, StatusBadge } from './bits.js';
import { DeliveryDetailPanel } from './Deliveries.js';
import { useEventStream } from './stream.js';

interface LiveCall {
  callId: string;
  events: StreamEvent[];
  record: CallRecord | undefined;
  complete: boolean;
  last: number;
}

/** The event's data checked against its type's schema from the contract; undefined if it does not fit. */
function payloadOf(e: StreamEvent): AnyWebhookPayload | undefined {
  const parsed = webhookPayloadSchemas[e.event_type].safeParse(e.data);
  return parsed.success ? (parsed.data as AnyWebhookPayload) : undefined;
}

function group(events: StreamEvent[]): { calls: LiveCall[]; messages: StreamEvent[] } {
  const byCall = new Map<string, StreamEvent[]>();
  const messages: StreamEvent[] = [];
  for (const e of events) {
    if (e.call_id) {
      const list = byCall.get(e.call_id) ?? [];
      list.push(e);
      byCall.set(e.call_id, list);
    } else messages.push(e);
  }
  const calls: LiveCall[] = [];
  for (const [callId, list] of byCall) {
    const payloads = list.map(payloadOf).filter((p): p is CallEvent => p !== undefined && 'CallID' in p);
    // @callhook/receiver's call assembly, the same an integrator runs behind their URL.
    const record = payloads.length > 0 ? assembleCall(callId, payloads, true) : undefined;
    const complete = record?.legs.every((l) => l.endTime !== undefined) ?? false;
    calls.push({ callId, events: list, record, complete, last: Math.max(...list.map((e) => e.id)) });
  }
  calls.sort((a, b) => b.last - a.last);
  return { calls, messages: messages.reverse() };
}

export function Calls({ ext, go }: { ext: number; go: Navigate }) {
  const id = useId();
  const { events, state, error } = useEventStream(ext);
  const { calls, messages } = useMemo(() => group(events), [events]);
  return (
    <section aria-labelledby={`${id}-title`}>
      <div className="section-head">
        <h1 id={`${id}-title`}>Calls of extension {ext}, live</h1>
        <p className={`live ${state}`} role="status" data-testid="stream-state">
          {state === 'live'
            ? 'Live'
            : state === 'connecting'
              ? 'Connecting…'
              : `Reconnecting… ${error ?? ''}`}
        </p>
      </div>
      <PlaceCall ext={ext} />
      {calls.length === 0 && messages.length === 0 && (
        <p className="muted">No events yet. Calls appear here as their events happen.</p>
      )}
      <ol className="calls" aria-label="Calls, newest first">
        {calls.map((c) => (
          <CallCard key={c.callId} ext={ext} call={c} go={go} />
        ))}
      </ol>
      {messages.length > 0 && (
        <>
          <h2>Messages</h2>
          <ul className="messages">
            {messages.map((m) => (
              <li key={m.id} className="card">
                <span className="tag">{m.event_type}</span>{' '}
                <time dateTime={m.received_at}>{new Date(m.received_at).toLocaleTimeString()}</time>{' '}
                {String(m.data.src_number ?? m.data.dst_number ?? '')}: {String(m.data.text ?? '')}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

const partyText = (p: Party | undefined) =>
  p ? (p.name ? `${p.name} <${p.number ?? p.extension ?? '?'}>` : (p.number ?? p.extension ?? '?')) : '?';

function CallCard({ ext, call, go }: { ext: number; call: LiveCall; go: Navigate }) {
  const deliveries = $api.useQuery(
    'get',
    '/extension/{extension_id}/delivery/',
    { params: { path: { extension_id: String(ext) }, query: { call_id: call.callId, per_page: 200 } } },
    {
      refetchInterval: (q) =>
        !call.complete || q.state.data?.items.some((d) => d.status === 'pending' || d.status === 'retrying')
          ? 1_000
          : false,
    },
  );
  const { refetch } = deliveries;
  // New events of this call make new deliveries: look again at once.
  useEffect(() => {
    if (call.events.length > 0) void refetch();
  }, [call.events.length, refetch]);
  const [open, setOpen] = useState<Delivery | undefined>();
  const r = call.record;
  const byEvent = new Map<number, Delivery[]>();
  for (const d of deliveries.data?.items ?? []) {
    if (d.event_id === undefined) continue;
    const list = byEvent.get(d.event_id) ?? [];
    list.push(d);
    byEvent.set(d.event_id, list);
  }
  const talk = r ? Math.round(r.talkDuration / 1e5) / 10 : 0;
  return (
    <li className="card call" data-testid="call" data-call-id={call.callId}>
      <div className="call-head">
        <h2>
          {r ? (
            <>
              <span className="tag">{r.direction === 'out' ? 'outgoing' : 'incoming'}</span>{' '}
              {partyText(r.caller)} → {partyText(r.callee)}
            </>
          ) : (
            <>Call</>
          )}
        </h2>
        <p className="facts">
          {call.complete ? (
            <span className={`badge ${r?.answered ? 'ok' : 'warn'}`}>{r?.status ?? 'ended'}</span>
          ) : (
            <span className="badge wait">in progress</span>
          )}
          {call.complete && r?.answered && <span>{talk} s talk</span>}
          <span className="mono small">{call.callId}</span>
          <button
            type="button"
            className="link small"
            onClick={() => go({ view: 'deliveries', call: call.callId })}
          >
            All its deliveries
          </button>
        </p>
      </div>
      <ol className="timeline">
        {[...call.events]
          .sort((a, b) => Number(a.data.EventTime ?? 0) - Number(b.data.EventTime ?? 0) || a.id - b.id)
          .map((e) => (
            <li key={e.id} data-testid="call-event" data-event-type={e.event_type}>
              <span className="when mono small">
                {typeof e.data.EventTime === 'number' ? eventTimeText(e.data.EventTime) : ''}
              </span>
              <span className="tag">{e.event_type}</span>
              {typeof e.data.CallStatus === 'string' && <span className="small">{e.data.CallStatus}</span>}
              <span className="deliveries">
                {(byEvent.get(e.id) ?? []).map((d) => (
                  <button
                    key={d.id}
                    type="button"
                    className="chip"
                    onClick={() => setOpen(open?.id === d.id ? undefined : d)}
                    aria-expanded={open?.id === d.id}
                    aria-label={`Delivery to subscription ${d.subscription_id}: ${d.status}`}
                    data-testid="event-delivery"
                    data-status={d.status}
                  >
                    → #{d.subscription_id} <StatusBadge status={d.status} />
                  </button>
                ))}
                {(byEvent.get(e.id) ?? []).length === 0 && (
                  <span className="muted small">no subscription</span>
                )}
              </span>
            </li>
          ))}
      </ol>
      {open && <DeliveryDetailPanel ext={ext} delivery={open} onClose={() => setOpen(undefined)} />}
    </li>
  );
}

function PlaceCall({ ext }: { ext: number }) {
  const simulate = $api.useMutation('post', '/pbx/simulate/');
  const [result, setResult] = useState<string | undefined>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const number = String(d.get('number') ?? '').trim();
    const speed = Number(d.get('speed'));
    setResult(undefined);
    try {
      const r = await simulate.mutateAsync({
        body: {
          scenario: String(d.get('scenario')) as SimulationScenario,
          extension_id: ext,
          ...(number ? { number } : {}),
          ...(speed > 0 ? { speed } : {}),
        },
      });
      setResult(`Call ${r.call_id} placed: ${r.events} events follow.`);
    } catch (err) {
      const status = (err as { message?: string } | undefined)?.message;
      setResult(status ?? errorMessage(err));
    }
  };
  return (
    <details className="card place">
      <summary>Place a call (demo mode's simulator)</summary>
      <form onSubmit={submit} className="grid" aria-label="Place a simulated call">
        <label>
          Scenario
          <select name="scenario" defaultValue="outgoing">
            {simulationScenarios.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Number
          <input name="number" defaultValue="00010005" inputMode="tel" />
        </label>
        <label>
          Speed
          <input name="speed" type="number" min="0.01" max="10000" step="any" defaultValue="1" />
        </label>
        <div className="row-buttons">
          <button type="submit" disabled={simulate.isPending}>
            Place the call
          </button>
        </div>
        {result && <output aria-live="polite">{result}</output>}
      </form>
    </details>
  );
}

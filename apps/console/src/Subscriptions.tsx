import {
  type EventType,
  eventTypes,
  type Subscription,
  type SubscriptionMethod,
  subscriptionMethods,
} from '@callhook/contract';
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import type { Navigate } from './App.js';
import { $api, errorMessage, fieldErrors } from './api.js';
import { CopyButton } from './bits.js';

interface Props {
  ext: number;
  go: Navigate;
}

/** A secret to show once: the API never returns it again. */
interface Revealed {
  label: string;
  secret: string;
}

export function Subscriptions({ ext, go }: Props) {
  const path = { extension_id: String(ext) };
  const list = $api.useQuery('get', '/extension/{extension_id}/event/', { params: { path } });
  const limits = $api.useQuery('get', '/client/{client_id}/limit/', {
    params: { path: { client_id: '@me' } },
  });
  const [revealed, setRevealed] = useState<Revealed[]>([]);
  const usage = limits.data?.subscriptions;
  const mine = usage?.extensions.find((e) => e.extension_id === ext);

  return (
    <section aria-labelledby="subs-title">
      <div className="section-head">
        <h1 id="subs-title">Subscriptions of extension {ext}</h1>
        {usage && (
          <p className="limits" data-testid="limits">
            <span>
              This extension: <strong>{mine?.used ?? 0}</strong> of {usage.extension_limit}
            </span>
            <span>
              All extensions: <strong>{usage.client_used}</strong> of {usage.client_limit}
            </span>
          </p>
        )}
      </div>
      {revealed.length > 0 && (
        <div className="card reveal" role="status" aria-live="polite">
          <h2>Signing secrets: shown once</h2>
          <p className="muted">Store them now: receivers verify each request's signature with them.</p>
          <ul>
            {revealed.map((r) => (
              <li key={r.secret}>
                <span>{r.label}</span> <code data-testid="secret">{r.secret}</code>{' '}
                <CopyButton text={r.secret} />
              </li>
            ))}
          </ul>
          <button type="button" className="secondary" onClick={() => setRevealed([])}>
            I have stored them
          </button>
        </div>
      )}
      <CreateForm ext={ext} onCreated={(r) => setRevealed((old) => [...r, ...old])} />
      {list.isPending && <p>Loading…</p>}
      {list.isError && <p role="alert">{errorMessage(list.error)}</p>}
      {list.data && list.data.length === 0 && <p className="muted">No subscriptions yet.</p>}
      {list.data && list.data.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Subscriptions</caption>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Event</th>
                <th scope="col">Request</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((s) => (
                <Row
                  key={s.id}
                  ext={ext}
                  sub={s}
                  go={go}
                  onSecret={(secret) =>
                    setRevealed((old) => [{ label: `#${s.id} (rotated)`, secret }, ...old])
                  }
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function useRefresh(ext: number) {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({
        queryKey: [
          'get',
          '/extension/{extension_id}/event/',
          { params: { path: { extension_id: String(ext) } } },
        ],
      }),
      queryClient.invalidateQueries({ queryKey: ['get', '/client/{client_id}/limit/'] }),
    ]);
}

function CreateForm({ ext, onCreated }: { ext: number; onCreated: (r: Revealed[]) => void }) {
  const id = useId();
  const create = $api.useMutation('post', '/extension/{extension_id}/event/');
  const refresh = useRefresh(ext);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const url = String(data.get('url'));
    const method = String(data.get('method')) as SubscriptionMethod;
    const types = data.getAll('event_type').map(String) as EventType[];
    setErrors({});
    setMessage(undefined);
    if (types.length === 0) {
      setErrors({ event_type: 'Choose at least one event type' });
      return;
    }
    setBusy(true);
    // The page's API takes one event type per subscription: one request for each type chosen.
    // Subscriptions to one endpoint (the URL without its query) share one signing secret: the
    // first to an endpoint shows it, the others say so (`secret_shared`).
    const created: Revealed[] = [];
    const shared: string[] = [];
    let made = 0;
    try {
      for (const type of types) {
        const sub = await create.mutateAsync({
          params: { path: { extension_id: String(ext) } },
          body: { url, method, event_type: type },
        });
        made++;
        const label = `#${sub.id} ${sub.event_type}`;
        const first = created[0];
        if (sub.secret) created.push({ label, secret: sub.secret });
        else if (first) created[0] = { ...first, label: `${first.label}, ${label}` };
        else shared.push(label);
      }
      form.reset();
      if (shared.length) {
        setMessage(
          `${shared.join(', ')}: signed with the secret this URL already has (shown when it was first subscribed or last rotated)`,
        );
      }
    } catch (err) {
      setErrors(fieldErrors(err));
      const left = types.slice(made);
      setMessage(`${errorMessage(err)}${made ? ` (not created: ${left.join(', ')})` : ''}`);
    } finally {
      setBusy(false);
      if (created.length) onCreated(created);
      await refresh();
    }
  };

  return (
    <form className="card create" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>New subscription</h2>
      <div className="grid">
        <label className="wide">
          URL
          <input
            name="url"
            type="url"
            required
            placeholder="https://example.com/hooks/calls"
            aria-invalid={errors.url ? true : undefined}
            aria-describedby={errors.url ? `${id}-url-error` : undefined}
          />
          {errors.url && (
            <span id={`${id}-url-error`} className="field-error">
              {errors.url}
            </span>
          )}
        </label>
        <label>
          Method
          <select name="method" defaultValue="POST" aria-invalid={errors.method ? true : undefined}>
            {subscriptionMethods.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
          {errors.method && <span className="field-error">{errors.method}</span>}
        </label>
      </div>
      <fieldset aria-invalid={errors.event_type ? true : undefined}>
        <legend>Event types (one subscription each)</legend>
        <div className="checks">
          {eventTypes.map((t) => (
            <label key={t} className="check">
              <input type="checkbox" name="event_type" value={t} />
              {t}
            </label>
          ))}
        </div>
        {errors.event_type && <span className="field-error">{errors.event_type}</span>}
      </fieldset>
      {message && (
        <p role="alert" className="error">
          {message}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create'}
      </button>
    </form>
  );
}

function Row({
  ext,
  sub,
  go,
  onSecret,
}: {
  ext: number;
  sub: Subscription;
  go: Navigate;
  onSecret: (secret: string) => void;
}) {
  const path = { extension_id: String(ext), id: sub.id };
  const update = $api.useMutation('put', '/extension/{extension_id}/event/{id}');
  const remove = $api.useMutation('delete', '/extension/{extension_id}/event/{id}');
  const rotate = $api.useMutation('post', '/extension/{extension_id}/event/{id}/secret/rotate/');
  const refresh = useRefresh(ext);
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | undefined>();
  const enabled = sub.enabled !== false;

  const run = async (action: () => Promise<unknown>) => {
    setMessage(undefined);
    setErrors({});
    try {
      await action();
      return true;
    } catch (err) {
      setErrors(fieldErrors(err));
      setMessage(errorMessage(err));
      return false;
    } finally {
      await refresh();
    }
  };

  const save = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const ok = await run(() =>
      update.mutateAsync({
        params: { path },
        body: {
          url: String(data.get('url')),
          method: String(data.get('method')) as SubscriptionMethod,
          event_type: String(data.get('event_type')) as EventType,
        },
      }),
    );
    if (ok) setEditing(false);
  };

  return (
    <>
      <tr data-testid={`subscription-${sub.id}`}>
        <td>#{sub.id}</td>
        <td>
          <span className="tag">{sub.event_type}</span>
        </td>
        <td className="url">
          <span className="method">{sub.method}</span> <span className="break">{sub.url}</span>
        </td>
        <td>
          <span className={`badge ${enabled ? 'ok' : 'bad'}`}>{enabled ? 'enabled' : 'disabled'}</span>
          {sub.disabled_reason && <div className="muted small">{sub.disabled_reason}</div>}
        </td>
        <td className="actions">
          <button
            type="button"
            className="secondary"
            onClick={() => run(() => update.mutateAsync({ params: { path }, body: { enabled: !enabled } }))}
          >
            {enabled ? 'Disable' : 'Enable'}
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => setEditing((v) => !v)}
            aria-expanded={editing}
          >
            Edit
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() =>
              run(async () => {
                const r = await rotate.mutateAsync({ params: { path } });
                onSecret(r.secret);
              })
            }
          >
            Rotate secret
          </button>
          <button type="button" className="secondary" onClick={() => go({ view: 'deliveries', sub: sub.id })}>
            Deliveries
          </button>
          {confirmDelete ? (
            <button
              type="button"
              className="danger"
              onClick={() => run(() => remove.mutateAsync({ params: { path } }))}
              onBlur={() => setConfirmDelete(false)}
            >
              Really delete #{sub.id}?
            </button>
          ) : (
            <button type="button" className="secondary" onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          )}
        </td>
      </tr>
      {(editing || message) && (
        <tr className="detail-row">
          <td colSpan={5}>
            {message && (
              <p role="alert" className="error">
                {message}
              </p>
            )}
            {editing && (
              <form
                onSubmit={save}
                className="grid edit"
                aria-label={`Edit subscription ${sub.id}`}
                noValidate
              >
                <label className="wide">
                  URL
                  <input
                    name="url"
                    type="url"
                    defaultValue={sub.url}
                    aria-invalid={errors.url ? true : undefined}
                  />
                  {errors.url && <span className="field-error">{errors.url}</span>}
                </label>
                <label>
                  Method
                  <select name="method" defaultValue={sub.method}>
                    {subscriptionMethods.map((m) => (
                      <option key={m}>{m}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Event type
                  <select name="event_type" defaultValue={sub.event_type}>
                    {eventTypes.map((t) => (
                      <option key={t}>{t}</option>
                    ))}
                  </select>
                </label>
                <div className="row-buttons">
                  <button type="submit">Save</button>
                  <button type="button" className="secondary" onClick={() => setEditing(false)}>
                    Cancel
                  </button>
                </div>
              </form>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

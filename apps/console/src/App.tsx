import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { $api, type Session, setSession } from './api.js';
import { Calls } from './Calls.js';
import { Deliveries } from './Deliveries.js';
import { SignIn } from './SignIn.js';
import { Subscriptions } from './Subscriptions.js';

export type View = 'subscriptions' | 'deliveries' | 'calls';
const VIEWS: Array<{ id: View; label: string }> = [
  { id: 'subscriptions', label: 'Subscriptions' },
  { id: 'deliveries', label: 'Deliveries' },
  { id: 'calls', label: 'Calls live' },
];

/** What the address's hash says: `#/<view>?ext=175&sub=72&call=...`. */
interface Place {
  view: View;
  ext?: number;
  sub?: number;
  call?: string;
}

function readPlace(): Place {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const view = VIEWS.some((v) => v.id === path) ? (path as View) : 'subscriptions';
  const q = new URLSearchParams(query);
  const place: Place = { view };
  if (q.get('ext')) place.ext = Number(q.get('ext'));
  if (q.get('sub')) place.sub = Number(q.get('sub'));
  if (q.get('call')) place.call = q.get('call')!;
  return place;
}

function writePlace(p: Place): void {
  const q = new URLSearchParams();
  if (p.ext !== undefined) q.set('ext', String(p.ext));
  if (p.sub !== undefined) q.set('sub', String(p.sub));
  if (p.call !== undefined) q.set('call', p.call);
  const hash = `#/${p.view}${q.size ? `?${q}` : ''}`;
  if (location.hash !== hash) history.pushState(null, '', hash);
}

export function App() {
  const [session, setCurrent] = useState<Session | undefined>();
  const queryClient = useQueryClient();
  const signOut = () => {
    setSession(undefined);
    setCurrent(undefined);
    queryClient.clear();
  };
  if (!session) {
    return (
      <SignIn
        onSignedIn={(s) => {
          setSession(s);
          setCurrent(s);
        }}
      />
    );
  }
  return <Shell clientId={session.clientId} onSignOut={signOut} />;
}

/** Where one view sends the user to another (a subscription's deliveries, a call's). */
export type Navigate = (p: Partial<Place> & { view: View }) => void;

function Shell({ clientId, onSignOut }: { clientId: string; onSignOut: () => void }) {
  const [place, setPlace] = useState<Place>(readPlace);
  useEffect(() => {
    const onPop = () => setPlace(readPlace());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const extensions = $api.useQuery('get', '/client/{client_id}/extension/', {
    params: { path: { client_id: '@me' } },
  });
  const ext = place.ext ?? extensions.data?.[0]?.id;
  const go: Navigate = (p) => {
    const next: Place = { ...p };
    next.ext = p.ext ?? ext;
    writePlace(next);
    setPlace(next);
  };

  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">callhook</span>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <a
              key={v.id}
              href={`#/${v.id}${ext !== undefined ? `?ext=${ext}` : ''}`}
              aria-current={place.view === v.id ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                go({ view: v.id });
              }}
            >
              {v.label}
            </a>
          ))}
        </nav>
        <label className="ext-select">
          <span>Extension</span>
          <select
            value={ext ?? ''}
            onChange={(e) => go({ view: place.view, ext: Number(e.target.value) })}
            disabled={!extensions.data}
          >
            {extensions.data?.map((x) => (
              <option key={x.id} value={x.id}>
                {x.id} · {x.name}
                {x.caller_id_name ? ` (${x.caller_id_name})` : ''}
              </option>
            ))}
          </select>
        </label>
        <span className="who" title="Signed in as">
          {clientId}
        </span>
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main">
        {extensions.isError && <p role="alert">Could not load your extensions.</p>}
        {extensions.data?.length === 0 && <p>This client has no extensions.</p>}
        {ext !== undefined && place.view === 'subscriptions' && <Subscriptions ext={ext} go={go} />}
        {ext !== undefined && place.view === 'deliveries' && (
          <Deliveries key={`${ext}:${place.sub}:${place.call}`} ext={ext} sub={place.sub} call={place.call} />
        )}
        {ext !== undefined && place.view === 'calls' && <Calls key={ext} ext={ext} go={go} />}
      </main>
    </div>
  );
}

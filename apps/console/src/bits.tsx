import type { AttemptOutcome, DeliveryStatus } from '@callhook/contract';
import { useState } from 'react';

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<'copied' | 'failed' | undefined>();
  return (
    <button
      type="button"
      className="secondary small"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setDone('copied');
        } catch {
          setDone('failed');
        }
        setTimeout(() => setDone(undefined), 2000);
      }}
    >
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Select and copy' : label}
      <span className="sr-only" aria-live="polite">
        {done === 'copied' ? ' to the clipboard' : ''}
      </span>
    </button>
  );
}

const STATUS_TONE: Record<DeliveryStatus, string> = {
  pending: 'wait',
  retrying: 'warn',
  succeeded: 'ok',
  failed: 'bad',
};

export function StatusBadge({ status }: { status: DeliveryStatus }) {
  return <span className={`badge ${STATUS_TONE[status]}`}>{status}</span>;
}

export function OutcomeBadge({ outcome }: { outcome: AttemptOutcome }) {
  return <span className={`badge ${outcome === 'success' ? 'ok' : 'bad'}`}>{outcome.replace('_', ' ')}</span>;
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'short',
  timeStyle: 'medium',
});

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  return <time dateTime={iso}>{timeFormat.format(new Date(iso))}</time>;
}

const eventTimeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  hour12: false,
});

/** `EventTime` (µs since the epoch) as a local time with milliseconds. */
export function eventTimeText(us: number): string {
  return eventTimeFormat.format(new Date(us / 1000));
}

/** A `datetime-local` input's value as an ISO time, or undefined when empty. */
export function isoFromLocal(value: FormDataEntryValue | null): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** An ISO time as a `datetime-local` input's value. */
export function localFromIso(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function Headers({ headers }: { headers: Record<string, string> }) {
  const entries = Object.entries(headers);
  if (entries.length === 0) return <p className="muted">No headers</p>;
  return (
    <dl className="headers">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

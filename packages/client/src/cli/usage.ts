import type { EventType } from '@callhook/contract';

/** A mistake in how the CLI was called (exit code 2), as opposed to a failure while running. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * `dial-in,hangup` → the event types, checked against the spec's list. The contract (and zod with
 * it) is loaded only by the commands that need it, so the others start quickly.
 */
export async function parseEventTypes(list: string | undefined): Promise<EventType[]> {
  const { eventTypes, isEventType } = await import('@callhook/contract');
  if (list === undefined || list.trim() === '' || list.trim() === 'all') return [...eventTypes];
  const chosen: EventType[] = [];
  for (const name of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!isEventType(name)) {
      throw new UsageError(`unknown event type "${name}"; the event types are ${eventTypes.join(', ')}`);
    }
    if (!chosen.includes(name)) chosen.push(name);
  }
  return chosen;
}

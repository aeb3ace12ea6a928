import { DomainError } from '@callhook/contract';

/** An event names an extension callhook does not have; nothing of its batch was stored. */
export class UnknownExtensionError extends DomainError {
  override readonly name = 'UnknownExtensionError';
  constructor(
    readonly extensionId: number,
    /** The event's position in its batch. */
    readonly index: number,
    /** The field as the API names it: `extension_id`, or `events.3.extension_id` in a batch. */
    field = 'extension_id',
  ) {
    super('not_found', `extension ${extensionId} does not exist`, { field, rule: 'exists' });
  }
}

/** An event names an extension callhook does not have; nothing of its batch was stored. */
export class UnknownExtensionError extends Error {
  override readonly name = 'UnknownExtensionError';
  constructor(
    readonly extensionId: number,
    /** The event's position in its batch. */
    readonly index: number,
  ) {
    super(`extension ${extensionId} does not exist`);
  }
}

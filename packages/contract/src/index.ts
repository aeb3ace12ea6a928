// The contract's public face: friendly names for what spec/openapi.yaml says, derived from the
// generated files. Nothing here restates a field, an enum or a type the spec has.
import type * as z from 'zod';
import * as heyZod from './hey/zod.gen.js';
import type { components, operations, paths, webhooks } from './openapi.gen.js';
import type { operationSecurity } from './security.gen.js';

export { DomainError, type DomainErrorKind } from './errors.js';
export { type FieldKind, formFields } from './fields.js';
export * as schemas from './hey/zod.gen.js';
export { cryptoRandom, type Random, seededRandom } from './random.js';
export { operationSecurity } from './security.gen.js';
export { API_BASE_PATH, ROOT_PATHS } from './servers.gen.js';
export type { components, operations, paths, webhooks };

/** Every operation the API serves (its paths, not its webhooks), by the spec's operationId. */
export type OperationId = keyof typeof operationSecurity;

type Schemas = components['schemas'];

export type EventType = Schemas['EventType'];
export type SubscriptionMethod = Schemas['SubscriptionMethod'];
export type Subscription = Schemas['Subscription'];
export type SubscriptionCreate = Schemas['SubscriptionCreate'];
export type SubscriptionUpdate = Schemas['SubscriptionUpdate'];
export type SubscriptionCreated = Schemas['SubscriptionCreated'];
export type Delivery = Schemas['Delivery'];
export type DeliveryDetail = Schemas['DeliveryDetail'];
export type DeliveryStatus = Schemas['DeliveryStatus'];
export type DeliveryPage = Schemas['DeliveryPage'];
export type DeliveryCursorPage = Schemas['DeliveryCursorPage'];
export type AttemptRequest = Schemas['AttemptRequest'];
export type AttemptResponse = Schemas['AttemptResponse'];
export type StreamEvent = Schemas['StreamEvent'];
export type ExtensionSummary = Schemas['ExtensionSummary'];
export type RecoverRequest = Schemas['RecoverRequest'];
export type RecoverResult = Schemas['RecoverResult'];
export type SecretRotation = Schemas['SecretRotation'];
export type SecretRotated = Schemas['SecretRotated'];
export type Attempt = Schemas['Attempt'];
export type AttemptOutcome = Schemas['AttemptOutcome'];
export type Limits = Schemas['Limits'];
export type CallbackRequest = Schemas['CallbackRequest'];
export type CallbackResponse = Schemas['CallbackResponse'];
export type TokenResponse = Schemas['TokenResponse'];
export type ApiError = Schemas['Error'];
export type FieldError = Schemas['FieldError'];
export type CallStatus = Schemas['CallStatus'];
export type HangupStatus = Schemas['HangupStatus'];
export type CallFlow = Schemas['CallFlow'];
export type IntakeEvent = Schemas['IntakeEvent'];
export type SimulationRequest = Schemas['SimulationRequest'];
export type SimulationScenario = Schemas['SimulationScenario'];
export type SimulationResult = Schemas['SimulationResult'];
export type IntakeResult = Schemas['IntakeResult'];
export type IntakeBatchResult = Schemas['IntakeBatchResult'];
export type Health = Schemas['Health'];

/** The event data a subscriber receives for one event type (the same for GET and POST). */
export type WebhookPayload<E extends EventType> = NonNullable<
  webhooks[E]['post']['requestBody']
>['content']['application/x-www-form-urlencoded'];

/** Any event's data, discriminated on `EventType`. */
export type AnyWebhookPayload = { [E in EventType]: WebhookPayload<E> }[EventType];

/** Event types that are calls (they carry `CallID`), as opposed to messages. */
export type CallEventType = {
  [E in EventType]: WebhookPayload<E> extends { CallID: string } ? E : never;
}[EventType];

/** Every event type, in the spec's order. */
export const eventTypes: readonly EventType[] = heyZod.zEventType.options;
export const subscriptionMethods: readonly SubscriptionMethod[] = heyZod.zSubscriptionMethod.options;
export const deliveryStatuses: readonly DeliveryStatus[] = heyZod.zDeliveryStatus.options;
export const attemptOutcomes: readonly AttemptOutcome[] = heyZod.zAttemptOutcome.options;
export const simulationScenarios: readonly SimulationScenario[] = heyZod.zSimulationScenario.options;
export const hangupStatuses: readonly HangupStatus[] = heyZod.zHangupStatus.options;

/**
 * The zod schema of each event's data, taken from the generated webhook request schemas. The
 * `satisfies` clause makes the compiler prove the map is complete and that each schema's output is
 * exactly that event's payload type.
 */
export const webhookPayloadSchemas = {
  'dial-in': heyZod.zDialInPostWebhookRequest.shape.body,
  'dial-out': heyZod.zDialOutPostWebhookRequest.shape.body,
  answer: heyZod.zAnswerPostWebhookRequest.shape.body,
  hangup: heyZod.zHangupPostWebhookRequest.shape.body,
  voicemail: heyZod.zVoicemailPostWebhookRequest.shape.body,
  'message-in': heyZod.zMessageInPostWebhookRequest.shape.body,
  'message-out': heyZod.zMessageOutPostWebhookRequest.shape.body,
} satisfies { [E in EventType]: z.ZodType<WebhookPayload<E>> };

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (eventTypes as readonly string[]).includes(value);
}

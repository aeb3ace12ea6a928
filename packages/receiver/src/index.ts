// @callhook/receiver: what an integrator puts behind the URL they subscribed.
export { type ExpressLikeRequest, expressMiddleware } from './adapters/express.js';
export { fetchHandler } from './adapters/fetch.js';
export { type AdapterOptions, nodeHandler, readRawBody } from './adapters/node.js';
export { assembleCall } from './calls/assemble.js';
export { type AssemblerOptions, CallAssembler, type Scheduler } from './calls/assembler.js';
export type { CallEvent, CallLeg, CallRecord, Party } from './calls/record.js';
export { type DeliveryIdStore, MemoryDeliveryIdStore } from './dedupe.js';
export {
  type FieldIssue,
  InProgressError,
  InvalidFieldError,
  MalformedRequestError,
  SignatureError,
  StaleTimestampError,
  WebhookError,
} from './errors.js';
export { callLog, logStamp, requestLog } from './log.js';
export {
  type AnyWebhookDelivery,
  type HeadersLike,
  type ParserOptions,
  type WebhookDelivery,
  WebhookParser,
  type WebhookRequest,
} from './parse.js';
export {
  type EventHandler,
  type ReceiverOptions,
  WebhookReceiver,
  type WebhookResponse,
} from './receiver.js';
export {
  type SignatureHeaders,
  SignatureVerifier,
  signWebhook,
  type VerifierOptions,
} from './signature.js';

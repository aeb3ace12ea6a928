// @callhook/client: the callhook API, typed from the spec. Runs in Node ≥20 and in browsers.
export {
  API_BASE_PATH,
  CallhookClient,
  type CallhookClientOptions,
  createCallhookClient,
} from './client.js';
export {
  CallhookApiError,
  CallhookAuthError,
  CallhookError,
  CallhookNetworkError,
  CallhookTimeoutError,
} from './errors.js';
export type { CredentialsOptions } from './token.js';
export type { FetchLike, RetryOptions } from './transport.js';

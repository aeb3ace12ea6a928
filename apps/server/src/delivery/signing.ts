// The Standard Webhooks signature has one implementation, the receiver package's: what callhook
// signs is by construction what an integrator's `@callhook/receiver` checks. Interoperability with
// the `standardwebhooks` package is proven in the tests. Its own entry: a sending thread loads
// this and not the parser's schemas (zod and the contract's).
export { signWebhook as sign } from '@callhook/receiver/signature';

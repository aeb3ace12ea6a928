// This file is auto-generated from spec/openapi.yaml by scripts/gen.mjs. Do not edit.

import type { operations } from './openapi.gen.js';

/**
 * The security schemes that admit each operation of the API's paths (webhooks are not served):
 * any one of them; none means no credentials.
 */
export const operationSecurity = {
  createToken: [],
  listSubscriptions: ['oauth2', 'bearer'],
  createSubscription: ['oauth2', 'bearer'],
  deleteAllSubscriptions: ['oauth2', 'bearer'],
  getSubscription: ['oauth2', 'bearer'],
  updateSubscription: ['oauth2', 'bearer'],
  deleteSubscription: ['oauth2', 'bearer'],
  rotateSubscriptionSecret: ['oauth2', 'bearer'],
  listDeliveries: ['oauth2', 'bearer'],
  recoverDeliveries: ['oauth2', 'bearer'],
  getDelivery: ['oauth2', 'bearer'],
  retryDelivery: ['oauth2', 'bearer'],
  listExtensionDeliveries: ['oauth2', 'bearer'],
  streamExtensionEvents: ['oauth2', 'bearer'],
  listExtensions: ['oauth2', 'bearer'],
  getLimits: ['oauth2', 'bearer'],
  createCallback: ['oauth2', 'bearer'],
  ingestEvent: ['pbxKey'],
  ingestEvents: ['pbxKey'],
  simulateCall: ['oauth2', 'bearer'],
  getHealth: [],
} as const satisfies { readonly [K in keyof operations]?: readonly string[] };

export { AddressBook } from './address-book.js';
export { type CallIds, callIds, legId } from './ids.js';
export { hangupStatus } from './outcome.js';
export { type CallSnapshot, MalformedSnapshotError, parseSnapshot } from './snapshot.js';
export {
  KAMAILIO_DEFAULTS,
  KamailioSource,
  type KamailioSourceOptions,
  type KamailioStats,
} from './source.js';
export { type Parties, pageEvents } from './translate.js';

// A real switch on one machine, for the tests, the demo and the benchmark: Kamailio with
// deploy/kamailio's configuration, and sipp as phones and as the PSTN gateway.

export { dropConsumer, dropStream, jetStreamUnavailable, publish, streamMessages } from './nats.js';
export {
  type Callee,
  type CallSpec,
  type PlacedCalls,
  placeCalls,
  type Registration,
  register,
  startCallee,
} from './sipp.js';
export { type Switch, type SwitchOptions, startSwitch } from './switch.js';
export { findTools, freeUdpPort, type LabTools, paths, sleep } from './tools.js';

// The call simulator: the page's generation rules as a PBX event source's planner and player.
// Pure (it depends only on the contract): the server hosts it behind a thin adapter.
export { createDirectory, type ExtensionKind, extensionAddress, type PbxDirectory } from './directory.js';
export {
  dashedUuid,
  newCallApiId,
  newCallId,
  recId,
  subCallId,
} from './ids.js';
export {
  type CallbackPlanOptions,
  type CallPlan,
  type CallTiming,
  DEFAULT_CALLER,
  DEFAULT_TEXT,
  PAGE_RING_US,
  PAGE_TALK_US,
  type PlannedEvent,
  type PlanOptions,
  planCallback,
  planScenario,
  QUEUE_ROUNDS,
  ScenarioError,
} from './scenarios.js';
export {
  type EventSink,
  type SetTimer,
  type SimulationResult,
  Simulator,
  type SimulatorOptions,
  systemClockUs,
  systemTimer,
} from './simulator.js';
export { SimulatorSource, type SimulatorSourceOptions } from './source.js';

// Call assembly alone, without the request parsing and server adapters: nothing here imports
// Node's modules, so a browser can use it (the console assembles calls from its event stream).
export { assembleCall, legKey } from './assemble.js';
export { type AssemblerOptions, CallAssembler, type Scheduler } from './assembler.js';
export type { CallEvent, CallLeg, CallRecord, Party } from './record.js';

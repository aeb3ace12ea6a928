export { UnknownExtensionError } from './errors.js';
export * from './simulator/index.js';
export type {
  EventSource,
  ExtensionDirectory,
  IngestReceipt,
  IntakeSink,
  PbxExtension,
  SourceContext,
  SourceEvent,
  SourceLogger,
} from './source.js';

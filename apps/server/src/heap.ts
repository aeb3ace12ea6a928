import { setFlagsFromString } from 'node:v8';

/**
 * Lets V8's JS heap grow `percent` past what its last full collection kept before it collects again
 * (V8's `--heap-growing-percent`; 0 gives back V8's own heuristics, which let a busy server's heap
 * reach three or four times its live size, most of the server's RSS at full speed). Unlike
 * `--max-old-space-size` this flag is read at every collection, so it can be set after start-up,
 * and it bounds nothing: a larger live heap is never refused, only collected sooner.
 * It is process-wide, threads included.
 */
export function applyHeapGrowth(percent: number): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/**
 * V8 lets the heap grow up to four times what its last full collection kept only when the heap's
 * limit is at least this; below it, its own growth is already at most 1.3–2×, and a fixed factor
 * would loosen it rather than tighten it.
 */
export const LARGE_HEAP_LIMIT = 2 * 1024 ** 3;

export type HeapGrowth =
  | { applied: true; percent: number }
  | { applied: false; reason: 'off' | 'small heap limit' | 'set on the command line' };

/** Whether `percent` should replace V8's own heap growth in a process with this heap limit and flags. */
export function heapGrowthFor(percent: number, heapLimit: number, flags: readonly string[]): HeapGrowth {
  if (flags.some((flag) => /^--heap[-_]growing[-_]percent\b/.test(flag))) {
    return { applied: false, reason: 'set on the command line' };
  }
  if (percent === 0) return { applied: false, reason: 'off' };
  if (heapLimit < LARGE_HEAP_LIMIT) return { applied: false, reason: 'small heap limit' };
  return { applied: true, percent };
}

/**
 * Makes V8 collect once the old generation has grown `percent` past what its last full collection
 * kept (V8's `--heap-growing-percent`). V8's own growth lets a busy server's heap reach three or four
 * times its live size, most of its RSS at full speed. Unlike `--max-old-space-size`, the flag is
 * read at every full collection, so it can be set after start-up, and it refuses no allocation.
 * It is process-wide, threads included, and replaces V8's own growth in every case, also the
 * smaller one it uses to shrink an idle heap; hence it is left alone where V8's own is small
 * anyway (a heap limit under 2 GiB), when the node command line sets it, and at 0.
 */
export function applyHeapGrowth(percent: number): HeapGrowth {
  // Only the command line can carry it: Node refuses V8's flags in NODE_OPTIONS but a listed few.
  const growth = heapGrowthFor(percent, getHeapStatistics().heap_size_limit, process.execArgv);
  if (growth.applied) setFlagsFromString(`--heap-growing-percent=${growth.percent}`);
  else if (growth.reason !== 'set on the command line') setFlagsFromString('--heap-growing-percent=0');
  return growth;
}

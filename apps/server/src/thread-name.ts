import { writeFileSync } from 'node:fs';

/**
 * The names callhook gives its threads, as `top -H`, `ps -L` and /proc/<pid>/task/<tid>/comm show
 * them (Linux keeps 15 bytes): an operator sees which thread takes the CPU, and `bench:delivery`
 * charges each its share. The main thread keeps the process's name (`node`), as do V8's helper
 * threads and libuv's pool.
 */
export const THREAD_NAMES = { send: 'callhook-send', checkpoint: 'callhook-ckpt' } as const;

/**
 * Names the calling thread (Linux: a thread may rename itself through /proc/thread-self/comm).
 * Elsewhere, or where /proc is not mounted, it does nothing: a name is only a label.
 */
export function nameThisThread(name: string): boolean {
  try {
    writeFileSync('/proc/thread-self/comm', name);
    return true;
  } catch {
    return false;
  }
}

#!/usr/bin/env node
import { serve, USAGE } from './serve.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

serve(argv, (line) => process.stdout.write(`${line}\n`)).then(
  (running) => {
    const stop = (): void => {
      running.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
  (error: unknown) => {
    process.stderr.write(`callhook-receiver: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);

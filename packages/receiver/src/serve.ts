import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { readRawBody, writeResponse } from './adapters/node.js';
import { CallAssembler } from './calls/assembler.js';
import { MalformedRequestError } from './errors.js';
import { decodeForm } from './form.js';
import { callLog, logStamp, requestLog } from './log.js';
import { rawQuery } from './parse.js';
import { WebhookReceiver } from './receiver.js';

export const USAGE = `Usage: callhook-receiver [--port 8081] [--host 127.0.0.1] [--secret whsec_...]...
                         [--strict] [--tolerance 300] [--quiet-period 5000]

Receives callhook webhooks, logs each request like the provider page's show.php,
and each call once assembled. Without --secret, requests are not verified.`;

export interface RunningReceiver {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** The standalone receiver behind `callhook-receiver`; `write` gets whole lines. */
export async function serve(
  argv: readonly string[],
  write: (line: string) => void,
): Promise<RunningReceiver> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '8081' },
      host: { type: 'string', default: '127.0.0.1' },
      secret: { type: 'string', multiple: true },
      strict: { type: 'boolean', default: false },
      tolerance: { type: 'string', default: '300' },
      'quiet-period': { type: 'string', default: '5000' },
    },
  });
  for (const name of ['port', 'tolerance', 'quiet-period'] as const) {
    if (!/^[0-9]+$/.test(values[name]))
      throw new Error(`--${name} must be a whole number, not ${values[name]}`);
  }
  const secrets = values.secret ?? [];
  const receiver = new WebhookReceiver({
    secret: secrets,
    allowUnsigned: secrets.length === 0,
    strict: values.strict,
    toleranceSeconds: Number(values.tolerance),
  });
  const assembler = new CallAssembler({
    quietPeriodMs: Number(values['quiet-period']),
    onCall: (call) => {
      for (const line of callLog(call, new Date())) write(line);
    },
  });
  receiver.onAny((delivery) => assembler.add(delivery.event));

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    (method === 'POST' ? readRawBody(req) : Promise.resolve(undefined))
      .then(async (body) => {
        const pairs = decodeForm(rawQuery(url));
        if (body) pairs.push(...decodeForm(body.toString('utf8')));
        const stamp = new Date();
        for (const line of requestLog(pairs, stamp)) write(line);
        const response = await receiver.handle({ method, url, headers: req.headers, body });
        if (response.error)
          write(`${logStamp(stamp)}  !! refused ${response.status}: ${response.error.message}`);
        else if (response.duplicate)
          write(`${logStamp(stamp)}  (retry of delivery ${response.delivery?.id}, already handled)`);
        writeResponse(res, response);
      })
      .catch((error: unknown) => {
        const status = error instanceof MalformedRequestError ? error.status : 500;
        write(
          `${logStamp(new Date())}  !! ${status}: ${error instanceof Error ? error.message : String(error)}`,
        );
        writeResponse(res, { status, headers: {}, body: '' });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `port ${values.port} on ${values.host}`;
      if (err.code === 'EADDRINUSE')
        reject(new Error(`${where} is already in use: choose another with --port (--port 9000)`));
      else if (err.code === 'EACCES')
        reject(new Error(`${where} is not allowed for this user: choose another with --port (--port 9000)`));
      else reject(err);
    });
    server.listen(Number(values.port), values.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : Number(values.port);
  write(
    `callhook-receiver listening on http://${values.host}:${port}/ (${secrets.length > 0 ? 'verifying signatures' : 'signatures not checked'})`,
  );
  return {
    server,
    port,
    close: () =>
      new Promise((resolve) => {
        assembler.flush();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

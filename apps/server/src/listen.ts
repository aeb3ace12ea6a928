import { createServer, type RequestListener, type Server } from 'node:http';

/** The port cannot be had (taken, or not allowed): the message says which and how to choose another. */
export class ListenError extends Error {
  override name = 'ListenError';
}

export function listen(app: RequestListener, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(app);
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `port ${port} on ${host}`;
      const choose =
        'choose another with PORT (PORT=8090 npm start) or --port (callhook-server start --port 8090)';
      if (err.code === 'EADDRINUSE')
        reject(
          new ListenError(`${where} is already in use (another callhook, or another program): ${choose}.`),
        );
      else if (err.code === 'EACCES')
        reject(new ListenError(`${where} is not allowed for this user: ${choose}.`));
      else if (err.code === 'EADDRNOTAVAIL')
        reject(
          new ListenError(`${host} is not an address of this machine: choose another with HOST or --host.`),
        );
      else reject(err);
    });
    server.listen(port, host, () => resolve(server));
  });
}

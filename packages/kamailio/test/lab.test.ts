import { createSocket, type SocketType } from 'node:dgram';
import { expect, test } from 'vitest';
import { udpBound } from '../src/lab/sipp.js';

// sipp's readiness is read from the kernel's UDP table, not by binding its port (a probe that
// bound it could take it from sipp as it started).
test.skipIf(process.platform !== 'linux')(
  'udpBound: true while a socket holds the port (IPv4 or IPv6), false once it is closed',
  async () => {
    for (const [type, address] of [
      ['udp4', '127.0.0.1'],
      ['udp6', '::1'],
    ] as [SocketType, string][]) {
      const socket = createSocket(type);
      const port = await new Promise<number | undefined>((resolve, reject) => {
        // A machine without IPv6 on loopback has no ::1 to bind: that family is left out.
        socket.once('error', (err: NodeJS.ErrnoException) =>
          type === 'udp6' && err.code === 'EADDRNOTAVAIL' ? resolve(undefined) : reject(err),
        );
        socket.bind(0, address, () => resolve(socket.address().port));
      });
      if (port === undefined) continue;
      expect(await udpBound(port), `${type} ${port}`).toBe(true);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      expect(await udpBound(port), `${type} ${port} closed`).toBe(false);
    }
  },
);

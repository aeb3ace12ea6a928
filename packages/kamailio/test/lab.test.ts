import { createSocket, type SocketType } from 'node:dgram';
import { expect, test } from 'vitest';
import { findTools, freeUdpPort, jetStreamUnavailable, startSwitch } from '../src/lab/index.js';
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

const { tools } = findTools();
const natsUrl = process.env.CALLHOOK_TEST_NATS_URL || 'nats://127.0.0.1:4222';
const noNats = await jetStreamUnavailable(natsUrl);

// A port found free can be taken by another process before Kamailio binds it: Kamailio then
// exits, and the switch is started again on another port.
test.skipIf(!tools || noNats !== undefined)(
  'the switch starts on another port when the one it was given is taken by the time it binds',
  { timeout: 60_000 },
  async () => {
    const taken = createSocket('udp4');
    const takenPort = await new Promise<number>((resolve) =>
      taken.bind(0, '127.0.0.1', () => resolve(taken.address().port)),
    );
    const given: number[] = [];
    const sw = await startSwitch({
      tools: tools!,
      natsUrl,
      subject: 'callhook.test.lab',
      gateway: '127.0.0.1:9',
      children: 1,
      ports: async () => {
        const port = given.length === 0 ? takenPort : await freeUdpPort();
        given.push(port);
        return port;
      },
    });
    try {
      expect(given).toHaveLength(2);
      expect(sw.port).toBe(given[1]);
      expect(await sw.rpc('core.uptime')).toMatch(/uptime/);
      expect(await udpBound(sw.port)).toBe(true);
    } finally {
      await sw.stop();
      taken.close();
    }
  },
);

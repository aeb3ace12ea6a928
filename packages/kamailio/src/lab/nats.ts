import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** Why NATS with JetStream cannot be used at `url`, or undefined when it can. */
export async function jetStreamUnavailable(url: string): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: url, timeout: 2000, maxReconnectAttempts: 0 });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
    } finally {
      await nc.close();
    }
    return undefined;
  } catch (err) {
    return `no NATS with JetStream at ${url}: ${(err as Error).message}`;
  }
}

/** Deletes a stream (a test run's own) and its consumers. */
export async function dropStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

/**
 * Deletes a durable consumer: the next callhook to start makes it again, and the stream hands it
 * every message from the start, as a broker that lost its state would.
 */
export async function dropConsumer(url: string, stream: string, consumer: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    await (await jetstreamManager(nc)).consumers.delete(stream, consumer);
  } finally {
    await nc.close();
  }
}

/** How many messages the stream holds. */
export async function streamMessages(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

/** Publishes raw messages to a subject, as the switch would (tests of malformed input). */
export async function publish(url: string, subject: string, payloads: string[]): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    for (const p of payloads) nc.publish(subject, p);
    await nc.flush();
  } finally {
    await nc.close();
  }
}

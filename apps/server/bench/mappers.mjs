#!/usr/bin/env node
// node bench/mappers.mjs [--against <copy of dist>] [--rounds 5]
// The store's row mappers that run once per claimed delivery (toClaimed(toDelivery(row))) and
// per subscription read or created (toSubscription(row)), in µs per call, median of --rounds,
// with this build and (--against) another in turns. In Node 20, adding properties to the copy an
// object spread makes costs about 1 µs each; both mappers once did that (16-20 and 11-12 µs per
// call), and this shows whether a change brings it back.
import { parseArgs } from 'node:util';
import { median, round, serverBuild } from './common.mjs';

const { values } = parseArgs({
  options: {
    against: { type: 'string' },
    rounds: { type: 'string', default: '5' },
  },
});
const ROUNDS = Number(values.rounds);

/** A subscription's secret columns, which both rows carry. */
const secretColumns = {
  secret: 'whsec_x',
  previous_secret: null,
  previous_secret_expires_at: null,
  migrated_secret: null,
  migrated_secret_expires_at: null,
  failing_since: null,
};
/** A claimed delivery's row as the claim reads it: the delivery's columns and its subscription's. */
const deliveryRow = (i) =>
  // Object.assign, not a spread: rows of ordinary shapes, as the database driver's are.
  Object.assign(
    {
      seq: i,
      id: `dlv_${i}`,
      subscription_id: 1 + (i % 7),
      event_id: i,
      client_id: 1,
      extension_id: 175,
      event_type: 'hangup',
      call_id: `call-${i % 100}`,
      status: 'pending',
      attempts: 0,
      next_attempt_at: 1_700_000_000_000 + i,
      created_at: 1_700_000_000_000,
      last_attempt_at: null,
      last_status_code: null,
      last_outcome: null,
      payload: 'EventType=hangup&CallID=abc',
      url: 'https://example.com/hook',
      method: 'POST',
    },
    secretColumns,
  );
const subscriptionRow = (i) =>
  Object.assign(
    {
      id: i,
      extension_id: 175,
      url: 'https://example.com/hook',
      method: 'POST',
      event_type: 'hangup',
      enabled: 1,
      disabled_reason: null,
      created_at: 1_700_000_000_000,
      client_id: 1,
      endpoint_id: 2,
    },
    secretColumns,
  );
const deliveries = Array.from({ length: 1000 }, (_, i) => deliveryRow(i));
const subscriptions = Array.from({ length: 1000 }, (_, i) => subscriptionRow(i));

async function build(dist) {
  const records = await serverBuild('store/outbox-records.js', dist);
  const subs = await serverBuild('store/subscriptions.js', dist);
  return {
    claimed: (row) => records.toClaimed(records.toDelivery(row), row),
    subscription: (row) => subs.toSubscription(row),
  };
}

/** µs per call of `f` over `rows`, repeated to about 100k calls. */
function time(f, rows) {
  let sink;
  const reps = 100;
  const start = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) for (const row of rows) sink = f(row);
  if (sink === undefined) throw new Error('no result');
  return Number(process.hrtime.bigint() - start) / 1000 / (reps * rows.length);
}

const builds = [['this build', await build(undefined)]];
if (values.against) builds.push(['--against', await build(values.against)]);
const cases = [
  ['toClaimed(toDelivery(row))', 'claimed', deliveries],
  ['toSubscription(row)', 'subscription', subscriptions],
];
const runs = new Map();
for (let round_ = 0; round_ < ROUNDS + 1; round_++) {
  for (const [name, b] of builds) {
    for (const [label, key, rows] of cases) {
      const us = time(b[key], rows);
      // The first round warms up (the optimising compiler); it is not kept.
      if (round_ > 0) runs.set(`${name}|${label}`, [...(runs.get(`${name}|${label}`) ?? []), us]);
    }
  }
}
const result = {};
console.log(`store mappers, µs per call, median of ${ROUNDS} rounds of 100k calls (node ${process.version})`);
for (const [label, key] of cases) {
  const mine = median(runs.get(`this build|${label}`));
  result[key] = { us: round(mine, 3) };
  let line = `  ${label.padEnd(28)} ${round(mine, 3)} µs`;
  if (values.against) {
    const other = median(runs.get(`--against|${label}`));
    result[key].against_us = round(other, 3);
    result[key].ratio = round(other / mine, 1);
    line += `   --against ${round(other, 3)} µs   (${round(other / mine, 1)}x less here)`;
  }
  console.log(line);
}
console.log(JSON.stringify({ bench: 'mappers', rounds: ROUNDS, ...result }));

// Uniform random numbers, shared by everything that plays calls: the PBX simulator (ids, call
// shapes) and the client's random call mix. Not from the spec: a small utility both sides need,
// kept once here because the contract is the one package they both depend on.

/** A source of uniform numbers in [0, 1): `Math.random`'s shape, so tests can pass a seeded one. */
export type Random = () => number;

const UINT32 = 2 ** 32;

/** Cryptographic randomness by default: ids must not collide across server instances. */
export const cryptoRandom: Random = () => {
  const [word] = crypto.getRandomValues(new Uint32Array(1));
  return (word ?? 0) / UINT32;
};

/** A small seeded generator (mulberry32) for reproducible tests, demos and load runs. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / UINT32;
  };
}

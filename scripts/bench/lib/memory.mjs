/**
 * Redis memory per unused token and per stored outcome, measured through the service's own
 * compiled RedisTokenStore (same scripts, same keys), from INFO memory's `used_memory`.
 *
 * An unused token is a member of its caller's held set (`h`, scored with its expiry) and its
 * grant one of the grants set (`g`). Small sets (≤ 128 members) are listpacks, big ones
 * skiplists, so the cost per token depends on how many tokens one caller has: both cases are
 * measured.
 */
import { randomBytes } from 'node:crypto';
import { RedisTokenStore } from '../../../packages/nestjs/dist/index.js';
import { limiterPolicies } from '../../../packages/nestjs/dist/limiter/limiter-policy.js';
import { fingerprintOf } from '../../../packages/nestjs/dist/fingerprint.js';
import { encodeOutcome } from '../../../packages/nestjs/dist/outcomes/stored-response.js';
import { TokenCodec } from '../../../packages/nestjs/dist/tokens/token-codec.js';
import { OrdersService } from '../../../dist/orders/orders.service.js';
import { createRedisClient, waitForReady } from '../../../dist/redis/redis-client.factory.js';
import { BENCH_SECRET, NEVER_LIMITED, SCOPE } from './settings.mjs';
import { deleteKeys, scanKeys, usedMemory } from './redis.mjs';

const TTL_MS = 900_000; // TOKEN_TTL_SECONDS' default
const KEEP_MS = 86_400_000; // IDEMPOTENCY_RESULT_TTL_SECONDS' default
const LEASE_MS = 60_000;
const IN_FLIGHT = 256; // store calls in flight: ioredis pipelines them on its one connection
const DEADLINE_MS = 120_000; // for each batch of store calls

/** The demo's orders; their "order placed" events go nowhere here. */
const orders = new OrdersService({ publish: async () => undefined });

/** As AppModule builds it from the environment, with the benchmark's never-refusing limits. */
const policy = limiterPolicies({
  rateLimit: NEVER_LIMITED,
  rateWindowSeconds: 60,
  maxOutstanding: NEVER_LIMITED,
})(SCOPE);

/** Runs `task(i)` for i in [0, count) with at most IN_FLIGHT at once; bounded by count and time. */
async function forEachInPool(count, task) {
  const deadline = Date.now() + DEADLINE_MS;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      if (Date.now() > deadline)
        throw new Error(`store calls: only ${next} of ${count} in ${DEADLINE_MS} ms`);
      const i = next;
      next += 1;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
}

/** `callers` anonymous callers (distinct addresses), `perCaller` tokens each, as GET /tokens issues them. */
async function issueSpread(store, codec, callers, perCaller) {
  const issued = [];
  await forEachInPool(callers * perCaller, async (i) => {
    const caller = {
      subject: undefined,
      address: `10.${(i % callers) >> 16}.${((i % callers) >> 8) & 255}.${(i % callers) & 255}`,
    };
    const { ref } = codec.create(caller);
    const result = await store.issue({
      ref,
      binding: codec.bindingOf(caller, SCOPE),
      ttlMs: TTL_MS,
      limits: policy,
    });
    if (!result.granted) throw new Error(`issue refused (${result.refusal})`);
    issued.push({ ref, caller });
  });
  return issued;
}

const limiterKeys = (admin) => scanKeys(admin, 'idem:*', 'zset');
const grantsKeys = (admin) => scanKeys(admin, 'idem:*:g:*', 'zset');

/**
 * Bytes per unused token for `callers` × `perCaller` tokens, split into the held sets (the
 * tokens themselves) and the grants sets (the limiter's window).
 */
async function unusedTokenCost(admin, store, codec, callers, perCaller) {
  await admin.flushall();
  const before = await usedMemory(admin);
  const issued = await issueSpread(store, codec, callers, perCaller);
  const withGrants = await usedMemory(admin);
  const held = `idem:{${issued[0].ref.tag}}:h:${policy.bucket}`;
  const encoding = await admin.object('ENCODING', held);
  const heldSetBytes = await memoryUsage(admin, held);
  await deleteKeys(admin, await grantsKeys(admin));
  const heldOnly = await usedMemory(admin);
  const count = issued.length;
  return {
    callers,
    tokensPerCaller: perCaller,
    tokens: count,
    bytesPerToken: round((withGrants - before) / count),
    heldBytesPerToken: round((heldOnly - before) / count),
    grantsBytesPerToken: round((withGrants - heldOnly) / count),
    zsetEncoding: encoding,
    memoryUsageOfOneHeldSet: heldSetBytes,
  };
}

/**
 * A stored answer of POST /orders as the demo gives it: the order from the demo's own
 * OrdersService (so a field the demo adds is measured too), its Location and JSON type.
 */
function typicalOrderOutcome(codec, ref) {
  const order = orders.create({ item: 'book', quantity: 2 }, codec.downstreamKeyOf(ref));
  return encodeOutcome({
    status: 201,
    headers: { location: `/orders/${order.id}`, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(order),
  });
}

/** Bytes per consumed token whose outcome is kept (its marker key), limiter sets excluded. */
async function storedOutcomeCost(admin, store, codec, count) {
  await admin.flushall();
  const before = await usedMemory(admin);
  const issued = await issueSpread(store, codec, 100, count / 100);
  let outcomeBytes = 0;
  await forEachInPool(issued.length, async (i) => {
    const { ref, caller } = issued[i];
    const owner = randomBytes(12).toString('base64url');
    const fingerprint = fingerprintOf('POST', '/orders', { item: 'book', quantity: i });
    const result = await store.consume({
      ref,
      owner,
      bucket: policy.bucket,
      binding: codec.bindingOf(caller, SCOPE),
      fingerprint,
      leaseMs: LEASE_MS,
      keepMs: KEEP_MS,
    });
    if (result.state !== 'first') throw new Error(`consume saw ${result.state}`);
    const outcome = typicalOrderOutcome(codec, ref);
    outcomeBytes = outcome.length;
    if (!(await store.recordOutcome(ref, owner, outcome, KEEP_MS)))
      throw new Error('outcome not recorded');
  });
  const { ref } = issued[0];
  const markerKey = `idem:{${ref.tag}}:r:${ref.id}`;
  const encoding = await admin.object('ENCODING', markerKey);
  const sampleKeyBytes = await memoryUsage(admin, markerKey);
  await deleteKeys(admin, await limiterKeys(admin)); // grants stay for the window; count only the markers
  const after = await usedMemory(admin);
  return {
    outcomes: issued.length,
    bytesPerOutcome: round((after - before) / issued.length),
    outcomeStringBytes: outcomeBytes,
    markerEncoding: encoding,
    memoryUsageOfOneMarker: sampleKeyBytes,
  };
}

/** MEMORY USAGE of one key (the key layout of docs/DESIGN.md); null if the layout changed. */
async function memoryUsage(admin, key) {
  const bytes = await admin.memory('USAGE', key);
  return bytes === null ? null : Number(bytes);
}

const round = (value) => Math.round(value * 10) / 10;

export async function measureMemory(admin, redisUrl) {
  const client = createRedisClient({ redisUrl });
  try {
    if (!(await waitForReady(client, 5_000))) throw new Error('memory: Redis not ready');
    const store = new RedisTokenStore(client);
    const codec = new TokenCodec(BENCH_SECRET);
    // Load the three scripts first, so the script cache is not counted as token memory.
    await storedOutcomeCost(admin, store, codec, 100);
    return {
      spread: await unusedTokenCost(admin, store, codec, 1_000, 100),
      oneCaller: await unusedTokenCost(admin, store, codec, 1, 100_000),
      outcomes: await storedOutcomeCost(admin, store, codec, 10_000),
    };
  } finally {
    await admin.flushall();
    await client.quit().catch(() => client.disconnect());
  }
}

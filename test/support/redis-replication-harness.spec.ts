import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startRedisCluster, type RedisClusterHandle } from './redis-harness.js';
import {
  startSentinelGroup,
  stallReplication,
  type SentinelGroupHandle,
} from './redis-replication-harness.js';

/**
 * The property failover tests rely on: after stallReplication(), a write the primary
 * acknowledges is lost when the primary dies, while what was replicated before survives on the
 * promoted replica, which then takes writes.
 */
const clients: Redis[] = [];
let group: SentinelGroupHandle | undefined;
let cluster: RedisClusterHandle | undefined;

function clientOf(port: number): Redis {
  // No reconnects: the primary is killed on purpose, and a retrying client would only add noise.
  const redis = new Redis({ host: '127.0.0.1', port, retryStrategy: () => null });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

/** quit() is polite but rejects on a closed connection; disconnect() on an ended client would leave a 2 s timer. */
async function close(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else if (client.status !== 'end') client.disconnect();
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map(close));
  await Promise.all([group?.stop(), cluster?.stop()]);
  group = cluster = undefined;
});

interface Nodes {
  pause(port: number): void;
  resume(port: number): void;
  kill(port: number): Promise<void>;
}

async function loseAnAcknowledgedWrite(
  nodes: Nodes,
  primary: number,
  replica: number,
  keys: { replicated: string; lost: string; after: string },
  waitForFailover: () => Promise<number>,
): Promise<{ newPrimary: number; failoverMs: number }> {
  const old = clientOf(primary);
  await old.set(keys.replicated, 'before the gap');
  expect(await old.wait(1, 1_000)).toBe(1);

  await stallReplication(nodes, primary, replica);
  expect(await old.set(keys.lost, 'acknowledged, never replicated')).toBe('OK');
  await nodes.kill(primary);
  nodes.resume(replica);
  const killedAt = Date.now();
  const newPrimary = await waitForFailover();
  const failoverMs = Date.now() - killedAt;

  expect(newPrimary).toBe(replica);
  const promoted = clientOf(newPrimary);
  expect(await promoted.get(keys.replicated)).toBe('before the gap');
  expect(await promoted.get(keys.lost)).toBeNull();
  expect(await promoted.set(keys.after, 'after the failover')).toBe('OK');
  return { newPrimary, failoverMs };
}

describe('stallReplication', () => {
  it('loses an acknowledged write when Sentinel fails the primary over', async () => {
    const startedAt = Date.now();
    group = await startSentinelGroup();
    const startupMs = Date.now() - startedAt;
    const [primary, replica] = group.nodes;
    expect(await group.primaryPort()).toBe(primary);

    const { failoverMs } = await loseAnAcknowledgedWrite(
      group,
      primary,
      replica,
      { replicated: 'a', lost: 'b', after: 'c' },
      () => group!.waitForFailover(primary),
    );
    expect(await group.primaryPort()).toBe(replica);
    console.log(`Sentinel group: startup ${startupMs} ms, failover ${failoverMs} ms`);
  }, 60_000);

  it('loses an acknowledged write when a Cluster replica takes over the slot', async () => {
    const startedAt = Date.now();
    cluster = await startRedisCluster({ replicasPerPrimary: 1, nodeTimeoutMs: 1_000 });
    const startupMs = Date.now() - startedAt;
    expect(cluster.nodes).toHaveLength(6);
    const slot = Number(await clientOf(cluster.nodes[0].port).cluster('KEYSLOT', '{gap}'));
    const primary = await cluster.primaryOfSlot(slot);
    const [replica] = await cluster.replicasOf(primary);
    expect(replica).toBeDefined();

    const { failoverMs } = await loseAnAcknowledgedWrite(
      cluster,
      primary,
      replica,
      { replicated: '{gap}a', lost: '{gap}b', after: '{gap}c' },
      () => cluster!.waitForFailover(slot, primary),
    );
    expect(await cluster.primaryOfSlot(slot)).toBe(replica);
    console.log(
      `Cluster (3 + 3, node timeout 1 s): startup ${startupMs} ms, failover ${failoverMs} ms`,
    );
  }, 60_000);
});

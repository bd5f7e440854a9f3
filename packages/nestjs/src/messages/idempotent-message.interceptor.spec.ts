import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication } from '@nestjs/common';
import {
  ClientProxyFactory,
  type ClientProxy,
  EventPattern,
  MessagePattern,
  type MicroserviceOptions,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { AddressInfo, Server } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { Idempotent } from '../decorators/idempotent.decorator.js';
import { IdempotencyMetrics } from '../idempotency.metrics.js';
import { MemoryTokenStore } from '../stores/memory-token.store.js';
import { IdempotencyTestingModule } from '../testing/index.js';

interface Order {
  id?: string;
  holdMs?: number;
}

const byId = ({ id }: Order) => id!;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let now = Date.now();
const runs: Record<string, number> = {};
const ran = (id: string) => (runs[id] = (runs[id] ?? 0) + 1);

@Controller()
class ConfirmationsController {
  @MessagePattern('confirm')
  @Idempotent({ key: byId, scope: 'confirmations' })
  async confirm(order: Order) {
    const count = ran(order.id!);
    await pause(order.holdMs ?? 0);
    return { confirmation: `${order.id}#${count}` };
  }

  @MessagePattern('confirm.once')
  @Idempotent({ key: byId, leaseSeconds: 5, afterCrash: 'skip' })
  confirmOnce(order: Order) {
    ran(order.id!);
    return new Promise(() => undefined); // its worker "dies": the run never finishes
  }

  @EventPattern('placed')
  @Idempotent({ key: byId })
  async placed(order: Order) {
    ran(order.id!);
    await pause(order.holdMs ?? 0);
  }
}

/**
 * The interceptor on Nest's TCP transport, in one process (memory store): what any transport
 * gets. The brokers' own settlement (RabbitMQ acks, BullMQ stalls) is tested on real brokers in
 * the repository's test/messages-*.spec.ts.
 */
describe('@Idempotent({ key }) on microservice handlers (TCP transport)', () => {
  let app: INestApplication;
  let client: ClientProxy;
  let metrics: IdempotencyMetrics;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [IdempotencyTestingModule.forRoot({ store: new MemoryTokenStore(() => now) })],
      controllers: [ConfirmationsController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    const server = app.connectMicroservice<MicroserviceOptions>({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: 0 },
    });
    await app.startAllMicroservices();
    await app.init();
    const { port } = server.unwrap<Server>().address() as AddressInfo;
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    metrics = app.get(IdempotencyMetrics);
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  const send = (pattern: string, order: Order) => firstValueFrom(client.send(pattern, order));
  const failure = (pattern: string, order: Order) =>
    send(pattern, order).then(
      (reply) => ({ reply }),
      (error: unknown) => error,
    );

  it('runs a request once per message id; a copy gets the first reply', async () => {
    expect(await send('confirm', { id: 'm-1' })).toEqual({ confirmation: 'm-1#1' });
    expect(await send('confirm', { id: 'm-1' })).toEqual({ confirmation: 'm-1#1' });
    expect(await send('confirm', { id: 'm-2' })).toEqual({ confirmation: 'm-2#1' });
    expect(runs).toMatchObject({ 'm-1': 1, 'm-2': 1 });
  });

  it('answers copies of a request in progress with MESSAGE_IN_PROGRESS, then the first reply', async () => {
    const first = send('confirm', { id: 'm-3', holdMs: 300 });
    await pause(50);
    const copies = await Promise.all([1, 2, 3].map(() => failure('confirm', { id: 'm-3' })));
    expect(copies).toEqual(
      Array(3).fill(expect.objectContaining({ code: 'MESSAGE_IN_PROGRESS', status: 'error' })),
    );
    expect(await first).toEqual({ confirmation: 'm-3#1' });
    expect(await send('confirm', { id: 'm-3' })).toEqual({ confirmation: 'm-3#1' });
    expect(runs['m-3']).toBe(1);
  });

  it('runs an event once among concurrent copies', async () => {
    for (let i = 0; i < 10; i += 1) client.emit('placed', { id: 'e-1', holdMs: 100 });
    await pause(400);
    client.emit('placed', { id: 'e-1' });
    await pause(100);
    expect(runs['e-1']).toBe(1);
  });

  it("does not run a request again after its run died, with afterCrash 'skip': MESSAGE_CRASHED", async () => {
    // The first delivery's run never finishes and it gets no reply: its worker is taken for dead.
    client.send('confirm.once', { id: 'c-1' }).subscribe({ error: () => undefined });
    await pause(100);
    expect(await failure('confirm.once', { id: 'c-1' })).toMatchObject({
      code: 'MESSAGE_IN_PROGRESS',
    });
    now += 5_001; // its lease runs out
    expect(await failure('confirm.once', { id: 'c-1' })).toMatchObject({
      code: 'MESSAGE_CRASHED',
    });
    expect(runs['c-1']).toBe(1);
  });

  it('refuses a message without an id, and counts every outcome', async () => {
    expect(await failure('confirm', {})).toMatchObject({ code: 'MESSAGE_KEY_MISSING' });
    const counted = await metrics.registry!.metrics();
    for (const outcome of ['ran', 'duplicate', 'in_progress', 'crashed'])
      expect(counted).toMatch(
        new RegExp(`^idempotency_messages_total\\{outcome="${outcome}"\\} [1-9]`, 'm'),
      );
  });
});

import { Inject, Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Cluster, type Redis } from 'ioredis';
import { REDIS_CLIENT } from './redis.module.js';

/**
 * Is Redis answering? On a single Redis, PING; on a Cluster, PING every master, since a token
 * can live on any of them. Through Sentinel the client is connected to whichever server the
 * sentinels named primary, so the PING checks the current primary, and the answer names it.
 * Without Redis (the in-memory store) there is nothing to be down.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly client: Redis | Cluster | undefined,
  ) {}

  async check(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    if (!this.client) return indicator.up({ store: 'memory' });
    try {
      const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
      if (nodes.length === 0) throw new Error('no Cluster master is known');
      await Promise.all(nodes.map((node) => node.ping()));
      if (this.client instanceof Cluster || !this.client.options.sentinels)
        return indicator.up({ nodes: nodes.length });
      const { remoteAddress, remotePort } = this.client.stream;
      return indicator.up({ nodes: 1, primary: `${remoteAddress}:${remotePort}` });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}

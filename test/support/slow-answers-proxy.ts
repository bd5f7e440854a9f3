import { startTcpProxy } from './tcp-proxy.js';

export interface SlowAnswersProxy {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** From now on, the server's bytes reach the client `ms` later (0: at once); order is kept. */
  delayAnswers(ms: number): void;
  /** Bytes from the server not yet passed on. */
  held(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback in front of a Redis server whose way back is slow: requests reach the
 * server at once, so it runs them in time, while its answers arrive late, as over a congested
 * link or to a process whose event loop stalls.
 */
export async function startSlowAnswersProxy(targetPort: number): Promise<SlowAnswersProxy> {
  let delayMs = 0;
  let held = 0;
  const proxy = await startTcpProxy(targetPort, (client, upstream) => {
    const queue: { chunk: Buffer; dueAt: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0].dueAt <= Date.now()) {
        const { chunk } = queue.shift()!;
        held -= chunk.length;
        client.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0].dueAt - Date.now());
    };
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      held += chunk.length;
      // Never before the chunk ahead of it, whatever the delay was then.
      queue.push({ chunk, dueAt: Math.max(Date.now() + delayMs, queue.at(-1)?.dueAt ?? 0) });
      if (!timer) pump();
    });
    return () => {
      clearTimeout(timer);
      held -= queue.splice(0).reduce((sum, { chunk }) => sum + chunk.length, 0);
    };
  });
  return {
    url: `redis://127.0.0.1:${proxy.port}`,
    delayAnswers: (ms) => (delayMs = ms),
    held: () => held,
    close: proxy.close,
  };
}

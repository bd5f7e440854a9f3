import { connect, createServer, type Server, type Socket } from 'node:net';

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
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
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
    const end = () => {
      clearTimeout(timer);
      held -= queue.splice(0).reduce((sum, { chunk }) => sum + chunk.length, 0);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    delayAnswers: (ms) => (delayMs = ms),
    held: () => held,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback in front of `targetPort`: each client gets its own upstream
 * connection, and `wire` decides what passes between the two (and may return a clean-up for
 * when the pair closes). Either end closing closes both.
 */
export async function startTcpProxy(
  targetPort: number,
  wire: (client: Socket, upstream: Socket) => (() => void) | void,
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const cleanUp = wire(client, upstream);
    const end = () => {
      cleanUp?.();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

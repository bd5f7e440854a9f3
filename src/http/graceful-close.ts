import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * What a shutdown does to the connections Node's `server.close()` leaves open. It closes idle
 * keep-alive connections only: a connection whose request is in flight would stay open after the
 * answer until the keep-alive time-out, and one whose request is still arriving (silent, headers
 * or body trickling) until its 10 s or 30 s time-out, both past the grace period. So at
 * `preClose`:
 * - requests that reached their handler finish, and their answer closes the connection;
 * - every other connection is cut: whatever was on the wire reached no handler, nothing ran.
 * Requests that arrive on an open connection during the drain are served the same way (Fastify
 * marks them `Connection: close`).
 */
export function closeConnectionsOnShutdown(fastify: FastifyInstance): void {
  const open = new Set<Socket>();
  const handling = new Set<ServerResponse>();
  fastify.server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  fastify.addHook('preHandler', (_request, reply, done) => {
    handling.add(reply.raw);
    reply.raw.once('close', () => handling.delete(reply.raw));
    done();
  });
  fastify.addHook('preClose', (done) => {
    const busy = new Set<Socket>();
    for (const response of handling) {
      // Node detaches the socket once the answer is sent: that connection is idle now.
      const socket = response.socket;
      if (!socket) continue;
      busy.add(socket);
      if (!response.headersSent) response.setHeader('Connection', 'close');
      else response.once('finish', () => socket.end());
    }
    for (const socket of open) if (!busy.has(socket)) socket.destroy();
    done();
  });
}

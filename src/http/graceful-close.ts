import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** The answer a connection's handler is giving, while it gives it. */
const ANSWERING = Symbol('answering');

type TrackedSocket = Socket & { [ANSWERING]?: ServerResponse };

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
 *
 * The answer in progress is a field of its connection, not an entry in a Set of answers: a Set
 * that every request enters and leaves is copied into new tables as it fills, and the tables it
 * leaves in the old generation still point at answers, which the young generation's collector
 * must then keep and promote, with their requests and headers, until the next full collection
 * (measured: a replay run spent twice as long in GC pauses, docs/PERFORMANCE.md).
 */
export function closeConnectionsOnShutdown(fastify: FastifyInstance): void {
  const open = new Set<TrackedSocket>();
  fastify.server.on('connection', (socket: TrackedSocket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  fastify.addHook('preHandler', (_request, reply, done) => {
    const response = reply.raw;
    const socket = response.socket as TrackedSocket | null;
    if (socket) {
      socket[ANSWERING] = response;
      response.once('close', () => {
        if (socket[ANSWERING] === response) socket[ANSWERING] = undefined;
      });
    }
    done();
  });
  fastify.addHook('preClose', (done) => {
    for (const socket of open) {
      const response = socket[ANSWERING];
      // Node detaches the socket once the answer is sent: that connection is idle now.
      if (!response?.socket) socket.destroy();
      else if (!response.headersSent) response.setHeader('Connection', 'close');
      else response.once('finish', () => socket.end());
    }
    done();
  });
}

import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * What a shutdown does to the connections Node's `server.close()` leaves open: it closes idle
 * keep-alive connections, but one whose request is in flight would stay open after the answer
 * until the keep-alive time-out, long past the grace period. So at `preClose`:
 * - requests that reached their handler finish, and their answer closes the connection;
 * - requests still arriving (headers or body on the wire, no handler yet) are cut: nothing ran.
 * Requests that arrive on an open connection during the drain are served the same way (Fastify
 * marks them `Connection: close`).
 */
export function closeConnectionsOnShutdown(fastify: FastifyInstance): void {
  const arriving = new Set<ServerResponse>();
  const handling = new Set<ServerResponse>();
  fastify.addHook('onRequest', (_request, reply, done) => {
    arriving.add(reply.raw);
    reply.raw.once('close', () => {
      arriving.delete(reply.raw);
      handling.delete(reply.raw);
    });
    done();
  });
  fastify.addHook('preHandler', (_request, reply, done) => {
    arriving.delete(reply.raw);
    handling.add(reply.raw);
    done();
  });
  fastify.addHook('preClose', (done) => {
    for (const response of arriving) response.socket?.destroy();
    for (const response of handling) {
      if (!response.headersSent) response.setHeader('Connection', 'close');
      else response.once('finish', () => response.socket?.end());
    }
    done();
  });
}

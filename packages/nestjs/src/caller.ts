import { limiterAddress } from './client-address.js';
import type { Caller, IdempotencyRequest, SubjectResolver } from './interfaces/caller.interface.js';

type RequestLike = IdempotencyRequest & { socket?: { remoteAddress?: string } };

/** Reads the user that the app's authentication put on the request (Passport's habit). */
export const defaultSubjectResolver: SubjectResolver = (request) => {
  const subject: unknown = request.user?.id ?? request.user?.sub;
  return subject === undefined || subject === null ? undefined : String(subject);
};

/**
 * `request.ip` is what both Fastify and Express derive from the socket, or from a trusted
 * proxy's forwarded header when the app was set up to trust one.
 */
export function callerOf(request: RequestLike, resolveSubject: SubjectResolver): Caller {
  const { ip, socket } = request;
  return {
    subject: resolveSubject(request),
    address: limiterAddress(ip ?? socket?.remoteAddress ?? 'unknown'),
  };
}

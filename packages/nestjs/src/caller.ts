import type { Caller, SubjectResolver } from './interfaces/caller.interface.js';

interface RequestLike {
  user?: { id?: unknown; sub?: unknown };
  ip?: string;
  socket?: { remoteAddress?: string };
}

/** Reads the user that the app's authentication put on the request (Passport's habit). */
export const defaultSubjectResolver: SubjectResolver = (request) => {
  const user = (request as RequestLike).user;
  const subject = user?.id ?? user?.sub;
  return subject === undefined || subject === null ? undefined : String(subject);
};

/**
 * `request.ip` is what both Fastify and Express derive from the socket, or from a trusted
 * proxy's forwarded header when the app was set up to trust one.
 */
export function callerOf(request: unknown, resolveSubject: SubjectResolver): Caller {
  const { ip, socket } = request as RequestLike;
  return { subject: resolveSubject(request), address: ip ?? socket?.remoteAddress ?? 'unknown' };
}

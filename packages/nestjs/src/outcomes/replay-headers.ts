/** Kept for replays unless the module or a handler says otherwise. */
export const DEFAULT_REPLAY_HEADERS = ['content-type', 'location'];

/**
 * Never kept: a cookie belongs to one client and one moment, hop-by-hop headers to one
 * connection, and the length is the server's to compute.
 */
const NEVER_REPLAYED = new Set([
  'set-cookie',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/** The names in lower case; throws, naming `where`, for a header that must never be replayed. */
export function replayHeaderList(names: readonly string[], where: string): string[] {
  const lower = names.map((name) => name.toLowerCase());
  const refused = lower.filter((name) => NEVER_REPLAYED.has(name));
  if (refused.length > 0) {
    throw new Error(
      `${where}: ${refused.join(', ')} cannot be replayed (cookies and hop-by-hop headers belong to one answer)`,
    );
  }
  return lower;
}

import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { StoredResponse } from './stored-response.js';

/** What the capture needs to know up front. */
export interface CaptureRules {
  /** Lower-case names of the headers to keep. */
  headers: readonly string[];
  /** A larger body is not kept (the answer then keeps only its status). */
  maxBodyBytes: number;
}

type Chunk = string | Uint8Array;
type Callback = (error?: Error | null) => void;

/**
 * Watches what a response actually sends, on the Node response under either adapter (Express'
 * `res` is one, Fastify's `reply.raw` is one): the status, the kept headers and the body bytes,
 * however they were written (a returned value, a filter, `@Res()`, a stream). When `end()` is
 * called, `done` gets the answer as the client got it; a body over the limit is dropped. When
 * `done` returns a promise, the answer's end waits for it: an answer sent whole (head and body
 * in one `end()`, as both adapters send a handler's value) leaves only then.
 *
 * Patching the three methods on this one response is what lets the app's own exception
 * filters render errors while the recorded outcome stays exactly the answer that was sent.
 */
export function captureResponse(
  response: object,
  rules: CaptureRules,
  done: (answer: StoredResponse) => Promise<unknown> | void,
): void {
  const raw = ((response as { raw?: ServerResponse }).raw ?? response) as ServerResponse;
  const { writeHead, write, end } = raw;
  const chunks: Buffer[] = [];
  let size = 0;
  let headHeaders: Record<string, string> = {};

  const collect = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    if (size > rules.maxBodyBytes) return;
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    chunks.push(buffer);
  };

  raw.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    const headers = rest.find((arg) => typeof arg === 'object' && arg !== null);
    headHeaders = headerRecord(headers as OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined);
    return writeHead.call(this, status, ...(rest as [OutgoingHttpHeaders]));
  } as ServerResponse['writeHead'];

  raw.write = function (this: ServerResponse, chunk: Chunk, ...rest: unknown[]) {
    collect(chunk, rest[0]);
    return write.call(this, chunk, ...(rest as [BufferEncoding, Callback]));
  } as ServerResponse['write'];

  raw.end = function (this: ServerResponse, ...args: unknown[]) {
    collect(args[0], args[1]);
    const headers: Record<string, string> = {};
    for (const name of rules.headers) {
      const value = raw.getHeader(name) ?? headHeaders[name];
      if (value !== undefined)
        headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    const answer: StoredResponse = { status: raw.statusCode, headers };
    if (size <= rules.maxBodyBytes) Object.assign(answer, encodeBody(Buffer.concat(chunks)));
    raw.writeHead = writeHead;
    raw.write = write;
    raw.end = end;
    const finish = () => (end as (...endArgs: unknown[]) => ServerResponse).apply(this, args);
    const held = done(answer);
    if (!held) return finish();
    void held.finally(finish);
    return this;
  } as ServerResponse['end'];
}

/** Text stays text (most answers are JSON); other bytes travel as base64. */
function encodeBody(body: Buffer): Pick<StoredResponse, 'body' | 'base64'> {
  const text = body.toString('utf8');
  return Buffer.byteLength(text) === body.length && !text.includes('\uFFFD')
    ? { body: text }
    : { body: body.toString('base64'), base64: true };
}

/** `writeHead`'s headers, as an object or as Node's flat `[name, value, …]` array, by lower-case name. */
function headerRecord(
  headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined,
): Record<string, string> {
  const record: Record<string, string> = {};
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2)
      record[String(headers[i]).toLowerCase()] = String(headers[i + 1]);
  } else if (headers) {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined)
        record[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
  }
  return record;
}

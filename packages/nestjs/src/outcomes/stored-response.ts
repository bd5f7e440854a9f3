/**
 * An answer as kept for copies. No `body`: not replayable (too large, or replay off), so copies
 * get `TOKEN_USED`. `base64`: the body is bytes that are not UTF-8 text.
 */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
  base64?: true;
}

const BASE64_FLAG = ' base64';
const JSON_FLAG = ' json';
/** What both adapters send with a JSON body: kept as the status line's ` json`, 41 bytes less. */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * As Redis keeps it, in the shape of an HTTP answer: the status (with ` base64` when the body is
 * bytes, ` json` for the usual JSON content type), one `name: value` line per other kept
 * header, then an empty line and the body when it is replayable. No JSON escaping of a JSON
 * body and no field names: a typical demo answer is 176 bytes instead of 270
 * (docs/PERFORMANCE.md, Redis memory). Header values never hold a line break (Node refuses
 * them), so the first empty line ends the head.
 */
export function encodeOutcome({ status, headers, body, base64 }: StoredResponse): string {
  let head = base64 ? `${status}${BASE64_FLAG}` : String(status);
  const json = headers['content-type'] === JSON_TYPE;
  if (json) head += JSON_FLAG;
  for (const name in headers) {
    if (!json || name !== 'content-type') head += `\n${name}: ${headers[name]}`;
  }
  return body === undefined ? head : `${head}\n\n${body}`;
}

export function decodeOutcome(outcome: string): StoredResponse {
  // Recorded by a version before this format, during a rolling upgrade: JSON.
  if (outcome.startsWith('{')) return JSON.parse(outcome) as StoredResponse;
  const end = outcome.indexOf('\n\n');
  const lines = (end === -1 ? outcome : outcome.slice(0, end)).split('\n');
  const status = lines[0];
  const answer: StoredResponse = { status: parseInt(status, 10), headers: {} };
  if (status.includes(JSON_FLAG)) answer.headers['content-type'] = JSON_TYPE;
  for (let i = 1; i < lines.length; i += 1) {
    const colon = lines[i].indexOf(': ');
    answer.headers[lines[i].slice(0, colon)] = lines[i].slice(colon + 2);
  }
  if (end !== -1) answer.body = outcome.slice(end + 2);
  if (status.includes(BASE64_FLAG)) answer.base64 = true;
  return answer;
}

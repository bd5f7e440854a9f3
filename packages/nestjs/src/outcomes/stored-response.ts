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

export function encodeOutcome(response: StoredResponse): string {
  return JSON.stringify(response);
}

export function decodeOutcome(outcome: string): StoredResponse {
  return JSON.parse(outcome) as StoredResponse;
}

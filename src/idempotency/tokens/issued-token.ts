/** The body of `GET /tokens`. */
export interface IssuedToken {
  /** Send it in the `Idempotency-Token` header, once. */
  token: string;
  /** The scope it was issued for, `null` when none. */
  scope: string | null;
  /** When it expires unused (ISO 8601). */
  expiresAt: string;
  /** Seconds until it expires unused. */
  expiresIn: number;
}

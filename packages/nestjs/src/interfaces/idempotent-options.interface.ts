/** Options of `@Idempotent()`. */
export interface IdempotentOptions {
  /**
   * The scope a token must have been issued for (`GET /tokens?scope=…`). A handler without a
   * scope accepts only tokens issued without one. Same syntax as the query parameter.
   */
  scope?: string;
  /**
   * Whether a copy of a finished request gets the first answer again (`true`, the default) or
   * `409 TOKEN_USED` (`false`: for answers that must not be handed out twice).
   */
  replay?: boolean;
}

/** What `x-idempotency` says about one operation. */
export interface IdempotentOperation {
  /** The scope to fetch its token with (`GET /tokens?scope=`); `null`: a token without a scope. */
  scope: string | null;
  /**
   * What the client sends: `token` (the default) a one-time token it fetches first; `key` a
   * UUID v4 it makes per call, in `Idempotency-Key` (for operations that take a key: one round
   * trip fewer).
   */
  credential?: 'token' | 'key';
  /** Token rotation: the answer hands on the next token when asked (`Prefer: next-token`). */
  rotate?: boolean;
  /** Whether copies of a finished request get the first answer again. */
  replay: boolean;
}

/** The operations that need a token, keyed by `"METHOD /path/{param}"` as the OpenAPI document writes them. */
export type IdempotentOperations = Readonly<Record<string, IdempotentOperation>>;

interface Matcher {
  method: string;
  pattern: RegExp;
  operation: IdempotentOperation;
}

/**
 * Finds the operation a request is for from its method and path (relative to the API's base
 * path); `{param}` matches one path segment. Compiled once per client.
 */
export function operationMatcher(operations: IdempotentOperations): (method: string, path: string) => IdempotentOperation | undefined {
  const matchers: Matcher[] = Object.entries(operations).map(([key, operation]) => {
    const [method, template] = key.split(' ', 2);
    const source = template
      .split(/\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]+');
    return { method: method.toUpperCase(), pattern: new RegExp(`^${source}/?$`), operation };
  });
  return (method, path) => matchers.find((m) => m.method === method && m.pattern.test(path))?.operation;
}

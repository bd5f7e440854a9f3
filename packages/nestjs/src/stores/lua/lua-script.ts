/** A Lua script as the build inlines it (see scripts/inline-lua.mjs). */
export interface LuaScript {
  /** Versioned command name, `idempotency:<name>:<sha1 prefix>`: two versions never clash on one client. */
  name: string;
  numberOfKeys: number;
  /** SHA1 of `lua`, as Redis' EVALSHA knows it. */
  sha1: string;
  lua: string;
}

/** A script with its keys and arguments, as the store runs it. */
export type ScriptCall = [LuaScript, ...(string | number)[]];

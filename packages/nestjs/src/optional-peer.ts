/**
 * Loads an optional peer dependency (`@nestjs/swagger`, `prom-client`), or `undefined` when the
 * app did not install it. Asynchronous on purpose: a dynamic import works from ESM and from
 * CommonJS apps (`require(esm)` refuses modules with top-level await) and in every bundler.
 * The caller passes the import itself, with a literal specifier that bundlers can see.
 */
export async function importOptionalPeer<T>(
  name: string,
  load: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const missing =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      message?.includes(`'${name}'`);
    if (missing) return undefined;
    throw error;
  }
}

/** Types for client-generator.mjs, so the TypeScript tests can import it. */
export declare function generateClientFiles(spec: unknown): Promise<Record<'client/schema.d.ts' | 'client/idempotent-operations.ts', string>>;

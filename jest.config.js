/** Native ESM Jest (docs/DEVELOPMENT.md): ts-jest does not type-check here; `npm run typecheck` does. */
export default {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/packages/*/src/**/*.spec.ts',
    '<rootDir>/packages/*/test/**/*.spec.ts',
    '<rootDir>/test/**/*.spec.ts',
  ],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // @fastify/static (Swagger UI on Fastify) require()s the ESM-only content-disposition 3. Node 20
    // can require() an ES module, Jest's module registry cannot (before Node 24.9): in tests, use the
    // CommonJS 2.x build beside it, which has the same `create()`.
    '^content-disposition$': '<rootDir>/node_modules/content-disposition/dist/index.js',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.spec.json' }] },
  setupFiles: ['reflect-metadata'],
  testTimeout: 30000,
};

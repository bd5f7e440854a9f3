/** Native ESM Jest (see ../shared/TOOLCHAIN.md): ts-jest does not type-check here; `npm run typecheck` does. */
export default {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.spec.json' }] },
  setupFiles: ['reflect-metadata'],
  testTimeout: 30000,
};

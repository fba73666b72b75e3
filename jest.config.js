// Jest runs the TypeScript sources as native ES modules (Nest 12 is ESM-only),
// so NODE_OPTIONS=--experimental-vm-modules is set by the npm scripts.
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': tsJest },
  moduleNameMapper: {
    '^nestjs-celery$': '<rootDir>/libs/nestjs-celery/src/index.ts',
    '^nestjs-celery/engine$': '<rootDir>/libs/nestjs-celery/src/engine/index.ts',
    '^nestjs-celery/(amqp|redis|memory|rpc)$': '<rootDir>/libs/nestjs-celery/src/transport/$1/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};
export default {
  maxWorkers: 2,
  // a loaded 2-core CI machine is slow: no test may rely on Jest's 5 s default (tests that talk
  // to brokers or Python set their own, longer timeouts)
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/**/*.spec.ts'], testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'] },
    // private brokers restarted, workers killed: run after the rest (scripts/test.mjs)
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.spec.ts'] },
  ],
};

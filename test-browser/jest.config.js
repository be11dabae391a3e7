/** The browser tests (npm run test:browser): Chromium driven by playwright-core, out of `npm test`'s run. */
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test-browser'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 180_000,
  // One browser and one sandbox, shared by the tests in order.
  maxWorkers: 1,
  forceExit: true,
};

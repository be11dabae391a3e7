const { availableParallelism } = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 30000,
  // The suite is CPU-bound (sandboxes, the policy evaluator, the SDK): one worker per core. Measured side by
  // side on two cores: 2 workers 83 s, 3 workers 98 s (Jest's default, cores - 1, leaves one core idle).
  maxWorkers: Math.max(2, availableParallelism()),
  // A test that fails mid-way can leave a sandbox's servers or function environments open; CI must still
  // end, red, rather than hang. (Green runs close everything they start: see each afterAll.)
  forceExit: true,
};

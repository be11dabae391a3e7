const { availableParallelism } = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/exhaustive: the stop matrix and the 101-application fleets, npm run test:exhaustive (CI runs it).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/exhaustive/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // Generous: CI's machines have run this suite 1.5x slower than a session's (250 s against 163 s), and a
  // hook or test that outlives its timeout fails the run though nothing is wrong. A real hang still ends red.
  testTimeout: 120_000,
  // The suite is CPU-bound (sandboxes, the policy evaluator, the SDK): one worker per core. On two cores 2
  // workers ran it in 83 s against 98 s with 3 once, and within noise of 3 in farm-bench pairs later (3/2
  // wall 0.96, spread 0.91-1.02); Jest's default, cores - 1, leaves one core idle.
  maxWorkers: Math.max(2, availableParallelism()),
  // A test that fails mid-way can leave a sandbox's servers or function environments open; CI must still
  // end, red, rather than hang. (Green runs close everything they start: see each afterAll.)
  forceExit: true,
};

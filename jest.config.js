/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 30000,
  // Most test time waits on sandboxes (HTTP, function environments, timers), not the CPU: three workers on
  // two cores ran the suite in 152 s against 254 s with Jest's default of one (measured side by side).
  maxWorkers: 3,
  // A test that fails mid-way can leave a sandbox's servers or function environments open; CI must still
  // end, red, rather than hang. (Green runs close everything they start: see each afterAll.)
  forceExit: true,
};

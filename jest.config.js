/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 30000,
  // A test that fails mid-way can leave a sandbox's servers or function environments open; CI must still
  // end, red, rather than hang. (Green runs close everything they start: see each afterAll.)
  forceExit: true,
};

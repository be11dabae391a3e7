/**
 * npm run test:exhaustive: what `npm test` leaves out to stay within 3 minutes on 2 cores — every Task state
 * of each day-two operation and every rollback state stopped on the deployed stack, and the fleets of 101
 * applications (the 11th, 17th and 101st, per-application and shared operators). .ci/run runs it after npm test.
 */
const base = require('../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = { ...base, rootDir: '../..', roots: ['<rootDir>/test/exhaustive'], testPathIgnorePatterns: ['/node_modules/'] };

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  setupFiles: ["<rootDir>/tests/setup-env.ts"],
  // Processes the tests start under ts-node share one transpilation cache (tests/support/ts-node-cache.js).
  // …and their program evaluations one cache (testing/program-cache.ts), removed at the end.
  globalSetup: "<rootDir>/tests/support/global-setup.js",
  globalTeardown: "<rootDir>/tests/support/global-teardown.js",
  // The slowest files first, also where jest has no timings yet (CI): tests/support/sequencer.js.
  testSequencer: "<rootDir>/tests/support/sequencer.js",
  transform: {
    // Compiler options on top of tsconfig.json, for the tests only: each file transpiled on its own
    // (ts-jest 29.4 deprecates its own `isolatedModules` option for this one), and source maps so
    // that stack traces and console code frames point at the TypeScript lines.
    "^.+\\.ts$": [
      "ts-jest",
      { tsconfig: { isolatedModules: true, sourceMap: true }, diagnostics: false },
    ],
  },
  // Coverage instrumentation would leak into serialized closures (see REFERENCE.md: Pulumi).
  coverageProvider: "v8",
  testTimeout: 60000,
  // Three workers on the 2-core CI machine (jest's default would be cores − 1 = 1): most files
  // wait on scaled time and on their own child processes (program evaluations, Lambdas,
  // dynalite) more than they compute, so a third worker fills the idle CPU. Full runs of the same
  // code on this machine (2026-12-01): 2 workers 662 s, 3 workers 541 s, every test passing.
  maxWorkers: 3,
};

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  setupFiles: ["<rootDir>/tests/setup-env.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }] },
  // Coverage instrumentation would leak into serialized closures (see REFERENCE.md: Pulumi).
  coverageProvider: "v8",
  testTimeout: 60000,
  maxWorkers: 2,
};

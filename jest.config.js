/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  setupFiles: ["<rootDir>/tests/setup-env.ts"],
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
  maxWorkers: 2,
};

import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "bin/**",
      "scratch/**",
      ".artifacts/**",
      "coverage/**",
      "**/*.js",
      "**/*.mjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  {
    files: ["handlers/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["@pulumi/*", "zod", "axios"] }],
      "no-restricted-syntax": [
        "error",
        {
          selector: "ClassDeclaration",
          message:
            "handlers/ is serialized by Pulumi's closure serializer, which rewrites classes: use functions and plain objects (see handlers/README.md).",
        },
        {
          selector:
            "Program > VariableDeclaration > VariableDeclarator > NewExpression[callee.name=/^(Map|Set|WeakMap|WeakSet)$/]",
          message:
            "a module-level Map/Set does not survive closure serialization: use a plain object (see handlers/README.md).",
        },
      ],
    },
  },
);

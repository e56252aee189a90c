// @ts-check
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "data/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["*.js", "bench/lib/*.mjs"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `async` on a method with no `await` is how a store or handler keeps the promise its
      // interface promises, so that a synchronous throw (better-sqlite3 is synchronous) reaches
      // the caller as a rejection, never as an exception thrown past an `await`.
      "@typescript-eslint/require-await": "off",
      // `_name` marks a parameter or binding kept for its position or to drop it from a rest.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  // Plain JavaScript runs in node (the configs, the bench's preload); TypeScript knows its globals from @types/node.
  { files: ["**/*.js", "**/*.mjs"], languageOptions: { globals: globals.node } },
);

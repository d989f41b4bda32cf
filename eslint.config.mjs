// Lint configuration (ESLint flat config): eslint's and typescript-eslint's recommended rules on
// the TypeScript sources. Formatting is prettier's job (.prettierrc.json); neither recommended set
// has formatting rules any more, so nothing needs turning off for prettier.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", ".tools/", "dist/", ".local/", "plans/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
);

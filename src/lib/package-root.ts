import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding asm's `package.json` (and `config/`). Found by walking up from this module, so the
 * answer is the same whether asm runs from `src/` under tsx or from the bundle in `dist/`.
 */
export const packageRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "config"))) return dir;
    if (dirname(dir) === dir) throw new Error(`asm: no package.json with a config/ folder above ${start}`);
  }
}

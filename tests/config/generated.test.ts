import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultConfig, writeGeneratedConfig } from "../../src/config/generate.ts";
import { configDir } from "../../src/config/load.ts";
import { configSchema } from "../../src/config/schema.ts";
import { tempDir } from "../helpers/tmp.ts";

const read = (path: string) => readFileSync(path, "utf8");

/** Leaf key paths of a JSON value (records such as contextWindows count as leaves). */
function leafPaths(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return prefix.endsWith("contextWindows") ? [] : leafPaths(v, path);
  });
}

describe("generated config files", () => {
  it("config/schema.json and config/default.json match the zod schema (run `asm config schema`)", () => {
    const dir = tempDir();
    const [schemaPath, defaultsPath] = writeGeneratedConfig(dir);
    expect(read(join(configDir, "schema.json")), "config/schema.json is stale: run `npx asm config schema`").toBe(read(schemaPath!));
    expect(read(join(configDir, "default.json")), "config/default.json is stale: run `npx asm config schema`").toBe(read(defaultsPath!));
  });

  it("config/example.json validates and sets every option", () => {
    const example = JSON.parse(read(join(configDir, "example.json")));
    const parsed = configSchema.safeParse(example);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    const have = new Set(leafPaths(example));
    const missing = leafPaths(defaultConfig()).filter((p) => p !== "$schema" && !have.has(p) && ![...have].some((h) => h.startsWith(`${p}.`)));
    expect(missing).toEqual([]);
  });
});

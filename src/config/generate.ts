import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { configDir } from "./load.ts";
import { configSchema } from "./schema.ts";

/** The JSON Schema of a config file, generated from the zod schema (inputs: every key optional). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" });
}

/** Every default, as a config file would spell it out. */
export function defaultConfig(): unknown {
  const { $schema: _, ...rest } = configSchema.parse({});
  return { $schema: "./schema.json", ...rest };
}

export const stringify = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Writes `config/schema.json` and `config/default.json`; returns the paths written. */
export function writeGeneratedConfig(dir = configDir): string[] {
  const schemaPath = join(dir, "schema.json");
  const defaultsPath = join(dir, "default.json");
  writeFileSync(schemaPath, stringify(configJsonSchema()));
  writeFileSync(defaultsPath, stringify(defaultConfig()));
  return [schemaPath, defaultsPath];
}

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { z } from "zod";
import { packageRoot } from "../lib/package-root.ts";
import { configFromEnv, type Origins } from "./env.ts";
import { ConfigError } from "./errors.ts";
import { type Config, configSchema } from "./schema.ts";
import { type Secrets, secretsFromEnv } from "./secrets.ts";

/** The repository's `config/` folder (default.json, example.json, schema.json). */
export const configDir = join(packageRoot, "config");

export interface LoadOptions {
  /** `--config PATH`; falls back to `ASM_CONFIG`. */
  configPath?: string | undefined;
  env?: Record<string, string | undefined>;
  /** For tests: where `default.json` lives. */
  defaultsPath?: string;
}

export interface LoadedConfig {
  config: Config;
  secrets: Secrets;
  /** Files that were layered, in order. */
  files: string[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep merge: objects merge key by key, anything else (arrays included) is replaced by the later layer. */
export function mergeLayers(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? mergeLayers(prev, v) : v;
  }
  return out;
}

function readJsonFile(path: string, origins: Origins, label: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError([`cannot read ${label} ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`], path);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`${path} is not valid JSON: ${(err as Error).message}`], path);
  }
  if (!isObject(data)) throw new ConfigError([`${path}: expected a JSON object at the top level`], path);
  const mark = (node: Json, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      const p = prefix ? `${prefix}.${k}` : k;
      origins.set(p, path);
      if (isObject(v)) mark(v, p);
    }
  };
  mark(data, "");
  return data;
}

/**
 * Expands a leading `~` to the home folder (`$HOME` when set, so tests and containers can move it), and a
 * leading `$XDG_DATA_HOME` to the per-user data folder: that variable when it holds an absolute path, else
 * `~/.local/share` (the XDG Base Directory rule).
 */
export function expandHome(path: string, env: Record<string, string | undefined> = process.env): string {
  const home = env.HOME || homedir();
  if (path === "$XDG_DATA_HOME" || path.startsWith("$XDG_DATA_HOME/")) {
    const data = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(home, ".local", "share");
    return join(data, path.slice("$XDG_DATA_HOME".length));
  }
  if (path !== "~" && !path.startsWith("~/")) return path;
  return join(home, path.slice(1));
}

function expandPaths(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === "string") return expandHome(node, env);
  if (Array.isArray(node)) return node.map((v) => expandPaths(v, env));
  if (isObject(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, expandPaths(v, env)]));
  return node;
}

/** One line per zod issue, named by its path, with the file or variable that set the value. */
export function describeIssues(error: z.ZodError, origins: Origins): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".") || "(top level)";
    let from: string | undefined;
    // An unknown key is blamed on whoever set that key (a file, or an ASM_… variable), not on its parent.
    if (issue.code === "unrecognized_keys") {
      const set = issue.keys.map((k) => origins.get(issue.path.length ? `${path}.${k}` : k)).filter((o) => o !== undefined);
      from = [...new Set(set)].join(", ") || undefined;
    }
    for (let p = from ? "" : path; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
      from = origins.get(p);
      if (from) break;
    }
    return `${path}: ${issue.message}${from ? ` (from ${from})` : ""}`;
  });
}

/**
 * Loads the effective configuration: `config/default.json` < the user's file < environment.
 * Throws `ConfigError` listing every problem by path.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const origins: Origins = new Map();
  const files: string[] = [];
  const defaultsPath = options.defaultsPath ?? join(configDir, "default.json");
  let merged = readJsonFile(defaultsPath, origins, "defaults");
  files.push(defaultsPath);
  const userPath = options.configPath ?? (env.ASM_CONFIG?.trim() || undefined);
  if (userPath) {
    const path = resolve(expandHome(userPath, env));
    merged = mergeLayers(merged, readJsonFile(path, origins, "config file"));
    files.push(path);
  }
  merged = mergeLayers(merged, configFromEnv(env, origins));
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, origins), userPath);
  return { config: expandPaths(parsed.data, env) as Config, secrets: secretsFromEnv(env), files };
}

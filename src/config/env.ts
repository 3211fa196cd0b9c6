/** Where a config value came from, so errors can name the file or variable to fix. */
export type Origins = Map<string, string>;

type EnvMap = Record<string, string | undefined>;

interface Alias {
  path: string[];
  kind: "number" | "string" | "list";
}

/**
 * Variables the operators already use, and the chat settings that come from the environment.
 * Tokens are not here: they are secrets (see secrets.ts).
 */
const aliases: Record<string, Alias> = {
  ASM_DB: { path: ["store", "path"], kind: "string" },
  ASM_LOG_LEVEL: { path: ["log", "level"], kind: "string" },
  ASM_CONTEXT_THRESHOLD: { path: ["checks", "context", "percentWarning"], kind: "number" },
  ASM_GATEWAY_TIMEOUT: { path: ["checks", "gateway", "downAfterSeconds"], kind: "number" },
  ASM_MONITOR_INTERVAL: { path: ["monitor", "intervalSeconds"], kind: "number" },
  ASM_MINIMAX_QUOTA_THRESHOLD: { path: ["checks", "quota", "minRemaining"], kind: "number" },
  TELEGRAM_FEED_CHAT_ID: { path: ["telegram", "feedChatId"], kind: "string" },
  TELEGRAM_FEED_TOPIC_ID: { path: ["telegram", "feedTopicId"], kind: "number" },
  TELEGRAM_API_ROOT: { path: ["telegram", "apiRoot"], kind: "string" },
  TELEGRAM_ALLOWED_USER_IDS: { path: ["telegram", "allowedUserIds"], kind: "list" },
  TELEGRAM_ADMIN_IDS: { path: ["telegram", "adminIds"], kind: "list" },
  DISCORD_GUILD_ID: { path: ["discord", "guildId"], kind: "string" },
  DISCORD_FEED_CHANNEL_ID: { path: ["discord", "feedChannelId"], kind: "string" },
  DISCORD_API_BASE: { path: ["discord", "apiBase"], kind: "string" },
  DISCORD_ALLOWED_USER_IDS: { path: ["discord", "allowedUserIds"], kind: "list" },
  DISCORD_ADMIN_USER_IDS: { path: ["discord", "adminUserIds"], kind: "list" },
  DISCORD_ADMIN_ROLE_IDS: { path: ["discord", "adminRoleIds"], kind: "list" },
};

/** Variables that are read elsewhere and must not be treated as generic `ASM_*` config paths. */
const notConfig = new Set(["ASM_CONFIG"]);

/** The names of every environment variable asm reads, for the README and `--help`. */
export const envVariableNames = Object.keys(aliases);

const camel = (segment: string) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function convert(raw: string, kind: Alias["kind"] | "json"): unknown {
  const text = raw.trim();
  if (kind === "list") {
    return text === ""
      ? []
      : text
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
  }
  if (kind === "number") return text !== "" && Number.isFinite(Number(text)) ? Number(text) : raw;
  if (kind === "json") {
    try {
      return JSON.parse(text);
    } catch {
      return raw;
    }
  }
  return raw;
}

/**
 * Turns the environment into a partial config. Besides the aliases, any `ASM_A__B__C` variable sets
 * the path `a.b.c` (segments in SCREAMING_SNAKE become camelCase; values are parsed as JSON when they
 * parse, e.g. `ASM_SOURCES__CODEX__ENABLED=false`).
 */
export function configFromEnv(env: EnvMap, origins: Origins): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (path: string[], value: unknown, name: string) => {
    let node = out;
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
    origins.set(path.join("."), name);
  };
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || notConfig.has(name)) continue;
    const alias = aliases[name];
    if (alias) {
      if (raw.trim() !== "") set(alias.path, convert(raw, alias.kind), name);
    } else if (name.startsWith("ASM_") && name.includes("__")) {
      set(name.slice(4).split("__").map(camel), convert(raw, "json"), name);
    }
  }
  return out;
}

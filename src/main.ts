import { type ParseArgsConfig, parseArgs } from "node:util";
import { exitCodes, UsageError } from "./cli/errors.ts";
import { type CliIo, print, printJson } from "./cli/io.ts";
import { runBot } from "./cli/run.ts";
import { parsePlatform, printSessions, sessionJson } from "./cli/sessions.ts";
import { ConfigError } from "./config/errors.ts";
import { writeGeneratedConfig } from "./config/generate.ts";
import { loadConfig } from "./config/load.ts";
import { maskedConfig } from "./config/mask.ts";
import { healthInputsOf, healthReport } from "./core/health.ts";
import { version } from "./lib/version.ts";
import { runScan } from "./sources/scan.ts";
import { isStoreFault, MigrationError, StoreMissingError, StoreOpenError, StoreUnwritableError, StoreVersionError } from "./store/db.ts";
import { AlreadyRunningError } from "./store/run-lock.ts";
import { openRuntime, type Runtime } from "./store/runtime.ts";

export const usage = `asm ${version} — watch and steer AI-agent sessions

Usage: asm <command> [options]

Commands:
  run                       run the bot (scheduler + chat transports; console when no token is set)
  scan --once [--json]      discover sessions from the agents' files into the store
  sessions [--json] [--platform P] [--sort context|activity] [--all]
                            list sessions from the store
  check --once [--json]     scan, run every check once and print the findings and alerts
  health [--json]           one-shot health report (exit 0 healthy, 1 degraded)
  spawn [--wait] [--json] [--model M] [--chain a,b,c] <agent|model> <workspace> <prompt>
                            start a worker (--wait: run it here, exit 0 if completed)
  workers [--json] [--all]  list managed workers
  fallback [--json]         per model: failures, rates, breakers, the fallback order now
  usage [--since 24h|7d|DATE|all] [--by agent|model|project|session] [--json]
                            tokens and cost from the per-turn usage (default: last 24h by agent)
  report [--since 24h|7d|30d] [--out FILE.png] [--json]
                            charts (context, tokens and cost, alerts, fallbacks) as one PNG (default: last 7d)
  memory [--json] [--fresh] <session>
                            a session's handover memory (the latest; built when it has none or --fresh)
  config check              validate and print the effective config, secrets masked
  config schema             write config/schema.json and config/default.json from the schema

Global options:
  --config PATH             config file (default: $ASM_CONFIG)
  -h, --help                this help
  -v, --version             print the version

Exit codes: 0 ok, 1 degraded, 2 bad usage or invalid config, 3 unusable database.`;

type Options = NonNullable<ParseArgsConfig["options"]>;
const globalOptions: Options = {
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
};

/** Node's parseArgs error in our words: which flag, and the flags this command takes. */
function flagProblem(err: Error & { code?: string }, options: Options): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  const known = Object.entries(options)
    .map(([name, o]) => `--${name}${o.type === "string" ? " <value>" : ""}`)
    .join(", ");
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) return `unknown flag ${flag}; this command takes ${known}`;
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) return `${flag} needs a value (${known})`;
  return err.message.split("\n")[0]!;
}

/** Parses a command's own flags strictly: an unknown flag is a UsageError. */
function parse(args: string[], options: Options, positionals = 0) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: { ...globalOptions, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(flagProblem(err as Error & { code?: string }, { ...globalOptions, ...options }));
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  }
  return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

/**
 * `asm spawn`'s flags. A prompt word that looks like a flag (`--fix the test`) is refused like any unknown flag, with
 * how to pass it: after `--`, where parseArgs takes everything as positionals.
 */
function parseSpawn(args: string[]) {
  try {
    return parse(args, { wait: { type: "boolean" }, json: { type: "boolean" }, model: { type: "string" }, chain: { type: "string" } }, 10_000);
  } catch (err) {
    const flag = /^unknown flag (\S+);/.exec((err as Error).message)?.[1];
    if (!(err instanceof UsageError) || !flag) throw err;
    const words = args.filter((a) => !a.startsWith("-"));
    const example = `asm spawn ${words.slice(0, 2).join(" ") || "<agent> <workspace>"} -- ${flag} …`;
    throw new UsageError(`${err.message}. A prompt that starts with a dash goes after --: ${example}`);
  }
}

const defaultIo = (): CliIo => ({ out: process.stdout, err: process.stderr, env: process.env });

/** Runs one CLI invocation and returns its exit code. Never throws. */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  let rt: Runtime | undefined;
  /** A command that writes (run, scan, check, spawn): the database is created when missing. */
  const open = (configPath: unknown) => {
    rt = openRuntime({ configPath: configPath as string | undefined, env: io.env, logStream: io.err });
    return rt;
  };
  /** A command that only reads: a missing database is an error (a mistyped ASM_DB), never a new empty one. */
  const openExisting = (configPath: unknown) => {
    rt = openRuntime({ configPath: configPath as string | undefined, env: io.env, logStream: io.err, create: false });
    return rt;
  };
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === "-h" || command === "--help" || command === "help") {
      print(io, usage);
      return command === undefined ? exitCodes.usage : exitCodes.ok;
    }
    if (command === "-v" || command === "--version") {
      print(io, version);
      return exitCodes.ok;
    }
    switch (command) {
      case "run": {
        const { values } = parse(rest, {});
        if (values.help) {
          print(io, usage);
          return exitCodes.ok;
        }
        return await runBot(open(values.config), io);
      }
      case "scan": {
        const { values } = parse(rest, { once: { type: "boolean" }, json: { type: "boolean" } });
        if (!values.once) throw new UsageError("scan needs --once (the bot's scheduler scans continuously: asm run)");
        const r = open(values.config);
        const report = await runScan(r);
        if (values.json) printJson(io, r.sessions.list({ sort: "urgency" }).map(sessionJson));
        else {
          for (const res of report.results) {
            print(
              io,
              `${res.platform.padEnd(9)} ${res.sessionsUpdated} updated, ${res.filesRead}/${res.filesSeen} files read, ${res.bytesRead} bytes, ${res.parseErrors} parse errors${res.errors.length ? `, errors: ${res.errors.join("; ")}` : ""}`,
            );
          }
          print(io, `scan took ${Math.round(report.durationMs)} ms; ${r.sessions.count()} sessions present`);
        }
        return exitCodes.ok;
      }
      case "sessions": {
        const { values } = parse(rest, {
          json: { type: "boolean" },
          platform: { type: "string" },
          sort: { type: "string", default: "urgency" },
          all: { type: "boolean" },
        });
        const sort = values.sort as string;
        if (!["context", "activity", "urgency"].includes(sort)) throw new UsageError(`--sort must be context or activity, not "${sort}"`);
        const platform = parsePlatform(values.platform as string | undefined);
        printSessions(openExisting(values.config), io, {
          json: Boolean(values.json),
          platform,
          sort: sort as "context",
          all: Boolean(values.all),
        });
        return exitCodes.ok;
      }
      case "spawn": {
        const { values, positionals } = parseSpawn(rest);
        const { spawnFromCli } = await import("./cli/workers.ts");
        return await spawnFromCli(open(values.config), io, positionals, {
          wait: Boolean(values.wait),
          json: Boolean(values.json),
          model: values.model as string | undefined,
          chain: typeof values.chain === "string" ? values.chain.split(",").filter(Boolean) : undefined,
        });
      }
      case "workers": {
        const { values } = parse(rest, { json: { type: "boolean" }, all: { type: "boolean" } });
        const { printWorkers } = await import("./cli/workers.ts");
        printWorkers(openExisting(values.config), io, { json: Boolean(values.json), all: Boolean(values.all) });
        return exitCodes.ok;
      }
      case "fallback": {
        const { values } = parse(rest, { json: { type: "boolean" } });
        const { Manager } = await import("./core/manager.ts");
        const { fallbackView } = await import("./core/fallback-view.ts");
        const { viewToText } = await import("./messages/view.ts");
        const manager = new Manager(openExisting(values.config));
        const stats = manager.fallbackStats();
        if (values.json) printJson(io, stats);
        else print(io, viewToText(fallbackView(stats)));
        return exitCodes.ok;
      }
      case "usage": {
        const { values } = parse(rest, { json: { type: "boolean" }, since: { type: "string", default: "24h" }, by: { type: "string", default: "agent" } });
        const { printUsage } = await import("./cli/usage.ts");
        printUsage(openExisting(values.config), io, { since: values.since as string, by: values.by as string, json: Boolean(values.json) });
        return exitCodes.ok;
      }
      case "report": {
        const { values } = parse(rest, { json: { type: "boolean" }, since: { type: "string", default: "7d" }, out: { type: "string" } });
        const { writeReport } = await import("./cli/report.ts");
        await writeReport(openExisting(values.config), io, {
          since: values.since as string,
          out: (values.out as string | undefined) ?? null,
          json: Boolean(values.json),
        });
        return exitCodes.ok;
      }
      case "memory": {
        const { values, positionals } = parse(rest, { json: { type: "boolean" }, fresh: { type: "boolean" } }, 1);
        const id = positionals[0];
        if (!id) throw new UsageError("memory needs a session id or a unique prefix");
        const rt = openExisting(values.config);
        const exact = rt.sessions.get(id);
        const matches = exact ? [exact] : rt.sessions.findByPrefix(id, 10);
        const same = matches.filter((s) => s.sessionId === id);
        const session = same.length === 1 ? same[0] : matches.length === 1 ? matches[0] : undefined;
        if (!session) {
          io.err.write(
            matches.length
              ? `asm: "${id}" matches ${matches.length} sessions; give a longer prefix\n`
              : `asm: no session matches "${id}" (run asm scan --once first?)\n`,
          );
          return exitCodes.usage;
        }
        const { latestMemory, saveMemory } = await import("./handover/save.ts");
        const deps = { db: rt.db, config: rt.config, log: rt.log };
        const saved = values.fresh ? await saveMemory(deps, session) : await latestMemory(deps, session);
        if (values.json) printJson(io, saved.memory);
        else {
          io.out.write(saved.markdown);
          if (saved.filePath) print(io, `(written to ${saved.filePath})`);
        }
        return exitCodes.ok;
      }
      case "check": {
        const { values } = parse(rest, { once: { type: "boolean" }, json: { type: "boolean" } });
        if (!values.once) throw new UsageError("check needs --once (the bot's scheduler checks continuously: asm run)");
        const { runCheckOnce } = await import("./cli/check.ts");
        return await runCheckOnce(open(values.config), io, { json: Boolean(values.json) });
      }
      case "health": {
        const { values } = parse(rest, { json: { type: "boolean" } });
        const report = healthReport(healthInputsOf(openExisting(values.config)));
        if (values.json) printJson(io, report);
        else {
          print(io, `asm health: ${report.status}`);
          for (const item of report.items) print(io, `  ${item.status.padEnd(8)} ${item.name}: ${item.detail}`);
        }
        return report.status === "ok" ? exitCodes.ok : exitCodes.degraded;
      }
      case "config": {
        const { values, positionals } = parse(rest, {}, 1);
        const sub = positionals[0];
        if (sub === "check") {
          // Validating the config touches no database.
          const r = loadConfig({ configPath: values.config as string | undefined, env: io.env });
          printJson(io, maskedConfig(r.config, r.secrets));
          print(io, `config ok (layers: ${r.files.join(" < ")} < environment)`);
          return exitCodes.ok;
        }
        if (sub === "schema") {
          for (const path of writeGeneratedConfig()) print(io, `wrote ${path}`);
          return exitCodes.ok;
        }
        throw new UsageError(`config needs a subcommand: check or schema${sub ? ` (not "${sub}")` : ""}`);
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`asm: ${err.message}\nRun "asm --help" for usage.\n`);
      return exitCodes.usage;
    }
    if (err instanceof ConfigError) {
      io.err.write(`asm: ${err.message}\n`);
      return exitCodes.config;
    }
    if (
      err instanceof StoreVersionError ||
      err instanceof MigrationError ||
      err instanceof StoreOpenError ||
      err instanceof StoreUnwritableError ||
      err instanceof StoreMissingError ||
      err instanceof AlreadyRunningError
    ) {
      io.err.write(`asm: ${err.message}\n`);
      return exitCodes.store;
    }
    const fault = isStoreFault(err);
    if (fault) {
      io.err.write(`asm: ${fault}\n`);
      return exitCodes.store;
    }
    io.err.write(`asm: unexpected error: ${(err as Error)?.stack ?? err}\n`);
    return 70;
  } finally {
    (rt as Runtime | undefined)?.close();
  }
}

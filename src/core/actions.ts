import { existsSync } from "node:fs";
import { z } from "zod";
import { jsonStorePath } from "../agents/openclaw/session-store.ts";
import { agentOf, platformsWith } from "../agents/registry.ts";
import type { Platform, SessionRecord } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import type { ActionKind } from "../store/actions.ts";
import type { SessionQuery, SessionStore } from "../store/sessions.ts";

/** What an action will do, decided when it is requested and stored with the row (`details`). */
export type ActionDetails =
  /** `overLimit`: a restart asked for past `checks.gateway.maxRestarts`; approving it takes "Run anyway". */
  | { mode: "argv"; argvs: string[][]; overLimit?: RestartLimit }
  | { mode: "json"; stores: { path: string; keys: string[] }[] }
  /** Start a managed worker with a prompt asm wrote (never chat text), in a folder asm chose. */
  | { mode: "worker"; agent: Platform; cwd: string; prompt: string };

/** A request that can be put up for approval: kind, target and exactly what will happen. */
export interface ActionPlan {
  kind: ActionKind;
  target: string | null;
  details: ActionDetails;
  /** One line for the approval message. */
  summary: string;
}

/** The action cannot be requested or run as asked; `message` tells the person why and what to do. */
export class ActionRefused extends Error {
  constructor(
    readonly kind: ActionKind,
    message: string,
  ) {
    super(message);
    this.name = "ActionRefused";
  }
}

/**
 * The only shape a value substituted into an argv may have: ids from our own store. No spaces, no
 * shell or glob characters, and no leading `-`, so it can never be read as an option.
 */
export const argvValue = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/)
  .refine((v) => !v.startsWith("-"), "must not start with -");

export const kindLabels: Record<ActionKind, string> = {
  restart_gateway: "Restart the gateway",
  reset_session: "Reset session",
  cleanup: "Clean up session store",
  repair_gateway: "Start repair worker",
};

/** The config block of one kind. */
export function kindConfig(config: Config, kind: ActionKind) {
  switch (kind) {
    case "restart_gateway":
      return config.actions.restartGateway;
    case "reset_session":
      return config.actions.resetSession;
    case "cleanup":
      return config.actions.cleanup;
    case "repair_gateway":
      return config.actions.repairGateway;
  }
}

/** Whether a kind runs without approval (the gateway check's own `restart: auto` counts too). */
export function isAuto(config: Config, kind: ActionKind): boolean {
  if (kind === "restart_gateway" && config.checks.gateway.restart === "auto") return true;
  return kindConfig(config, kind).auto;
}

/**
 * Fills `{name}` placeholders of a configured argv. Every value must pass `argvValue`; an unknown
 * placeholder or a missing/invalid value refuses the action rather than running something else.
 */
export function fillArgv(kind: ActionKind, argv: string[], values: Record<string, string | null | undefined>): string[] {
  return argv.map((arg) =>
    arg.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined || value === null) {
        throw new ActionRefused(kind, `the configured command uses {${name}}, which this action does not have`);
      }
      if (!argvValue.safeParse(value).success) {
        throw new ActionRefused(kind, `"${value}" is not a safe value for {${name}} (letters, digits, . _ : - only)`);
      }
      return value;
    }),
  );
}

/** The gateway's restart limit when a request would exceed it: restarts started in the window, and the limit. */
export interface RestartLimit {
  recent: number;
  max: number;
  windowMinutes: number;
}

/**
 * Whether one more restart now would exceed `checks.gateway.maxRestarts` per `restartWindowMinutes` (the
 * gateway check's circuit breaker), given when earlier restarts started; null when it would not.
 */
export function restartLimit(config: Config, startedAt: number[], now: number): RestartLimit | null {
  const { maxRestarts, restartWindowMinutes } = config.checks.gateway;
  const recent = startedAt.filter((t) => now - t < restartWindowMinutes * 60_000).length;
  return recent >= maxRestarts ? { recent, max: maxRestarts, windowMinutes: restartWindowMinutes } : null;
}

/** A restart of the OpenClaw gateway with the configured argv; `overLimit` when asked for past the restart limit. */
export function planRestart(config: Config, overLimit: RestartLimit | null = null): ActionPlan {
  const argv = config.actions.restartGateway.argv;
  if (!argv) throw new ActionRefused("restart_gateway", "no restart command is configured (actions.restartGateway.argv)");
  const argvs = [fillArgv("restart_gateway", argv, {})];
  return { kind: "restart_gateway", target: null, details: { mode: "argv", argvs, ...(overLimit ? { overLimit } : {}) }, summary: argv.join(" ") };
}

/** The placeholders a session-level argv may use: `{target}` is the session key (how OpenClaw's CLI addresses sessions). */
const sessionValues = (s: SessionRecord) => ({ target: s.sessionKey ?? s.sessionId, sessionKey: s.sessionKey, sessionId: s.sessionId, agentId: s.agentId });

/** A reset of one observed OpenClaw session: the configured CLI, or (older versions) editing sessions.json. */
export function planReset(config: Config, s: SessionRecord): ActionPlan {
  const kind = "reset_session";
  if (!agentOf(s.platform).capabilities.resetSessions) {
    throw new ActionRefused(kind, `only OpenClaw sessions can be reset from here; ${s.platform} sessions are reset in the agent itself`);
  }
  const argv = config.actions.resetSession.argv;
  const label = s.sessionKey ?? s.sessionId;
  if (argv) {
    const filled = fillArgv(kind, argv, sessionValues(s));
    return { kind, target: s.uid, details: { mode: "argv", argvs: [filled] }, summary: `${label}: ${filled.join(" ")}` };
  }
  if (s.extra.storage === "sqlite") {
    throw new ActionRefused(
      kind,
      "this session lives in OpenClaw's SQLite store, which asm never writes; set actions.resetSession.argv to the OpenClaw command that resets it",
    );
  }
  if (!s.sessionKey) throw new ActionRefused(kind, "the store entry's key is unknown; run a scan first");
  const path = jsonStorePath(config.sources.openclaw.root, s);
  if (!path) throw new ActionRefused(kind, "its sessions.json was not found (was the session removed already?)");
  return {
    kind,
    target: s.uid,
    details: { mode: "json", stores: [{ path, keys: [s.sessionKey] }] },
    summary: `${label}: remove the entry from ${path} (backup first; the transcript stays)`,
  };
}

/** Entries whose transcript path is null or whose transcript file is missing. */
export const isCorrupted = (s: SessionRecord) => agentOf(s.platform).capabilities.resetSessions && s.present && Boolean(s.extra.transcriptProblem);

/** The corrupted entries in the store, of every agent whose sessions asm can reset or clean up, per agent in `sort` order. */
export const corruptedSessions = (sessions: Pick<SessionStore, "list">, sort?: SessionQuery["sort"]): SessionRecord[] =>
  platformsWith("resetSessions").flatMap((platform) => sessions.list({ platform, sort }).filter(isCorrupted));

/**
 * Cleanup of corrupted or stray OpenClaw entries (the caller decides which: corrupted ones from the
 * store, strays from the duplicates check). With `actions.cleanup.argv`: that command, once per
 * entry when it names one (`{target}`, `{sessionId}`, …), else once. Without: the entries are
 * removed from their `sessions.json` (backup first); entries in SQLite stores are listed in
 * `skipped`, never touched by asm.
 */
export function planCleanup(config: Config, candidates: SessionRecord[]): ActionPlan & { entries: SessionRecord[]; skipped: SessionRecord[] } {
  const kind = "cleanup";
  const entries = candidates.filter((s) => agentOf(s.platform).capabilities.resetSessions && s.present);
  if (entries.length === 0) throw new ActionRefused(kind, "no corrupted or stray entries found");
  const target = entries.length === 1 ? entries[0]!.uid : null;
  const argv = config.actions.cleanup.argv;
  if (argv) {
    const perEntry = argv.some((a) => /\{[A-Za-z]+\}/.test(a));
    const argvs = perEntry ? entries.map((s) => fillArgv(kind, argv, sessionValues(s))) : [fillArgv(kind, argv, {})];
    return { kind, target, details: { mode: "argv", argvs }, summary: argvs.map((a) => a.join(" ")).join("; "), entries, skipped: [] };
  }
  const byStore = new Map<string, string[]>();
  const skipped: SessionRecord[] = [];
  for (const s of entries) {
    const path = s.extra.storage === "sqlite" || !s.sessionKey ? null : jsonStorePath(config.sources.openclaw.root, s);
    if (!path) {
      skipped.push(s);
      continue;
    }
    byStore.set(path, [...(byStore.get(path) ?? []), s.sessionKey!]);
  }
  if (byStore.size === 0) {
    throw new ActionRefused(
      kind,
      `${entries.length} entr${entries.length === 1 ? "y is" : "ies are"} in SQLite stores (or their sessions.json is gone), which asm never writes; set actions.cleanup.argv to the OpenClaw command`,
    );
  }
  const stores = [...byStore].map(([path, keys]) => ({ path, keys }));
  const n = stores.reduce((sum, st) => sum + st.keys.length, 0);
  return {
    kind,
    target,
    details: { mode: "json", stores },
    summary: `remove ${n} entr${n === 1 ? "y" : "ies"} from ${stores.length} sessions.json (backup first; transcripts stay)`,
    entries: entries.filter((e) => !skipped.includes(e)),
    skipped,
  };
}

/**
 * The runbook's "failed more than 3 times → trigger Claude Code repair": a worker (`runner.repairAgent`) in the
 * OpenClaw state folder, told what the probe saw and the gateway log's tail. With `actions.repairGateway.argv`
 * that command runs instead. The prompt is written by asm from probe output and log lines; it reaches the
 * worker on stdin, never argv.
 */
export function planRepair(config: Config, stateDir: string | null, context: string[], logTail: { path: string; lines: string[] } | null): ActionPlan {
  const kind = "repair_gateway";
  const argv = config.actions.repairGateway.argv;
  if (argv) return { kind, target: null, details: { mode: "argv", argvs: [fillArgv(kind, argv, {})] }, summary: argv.join(" ") };
  if (!stateDir || !existsSync(stateDir))
    throw new ActionRefused(kind, "the OpenClaw state folder was not found (sources.openclaw.root); set actions.repairGateway.argv instead");
  const prompt = [
    "The OpenClaw gateway on this machine is down and restarting it has not helped.",
    "You are in its state folder. Find out why it does not start and repair it: read its config (openclaw.json)",
    "and logs, check disk space and ports, fix what is broken, and say exactly what you changed.",
    "Do not delete sessions or transcripts. Back up any file before you edit it.",
    "",
    "What asm's gateway probe saw:",
    ...context.map((l) => `- ${l}`),
    ...(logTail ? ["", `The last lines of ${logTail.path}:`, "```", ...logTail.lines, "```"] : ["", "No gateway log file was found."]),
  ].join("\n");
  const agent = config.runner.repairAgent;
  return {
    kind,
    target: null,
    details: { mode: "worker", agent, cwd: stateDir, prompt },
    summary: `start a ${agent} worker in ${stateDir} to repair the gateway`,
  };
}

import type { Driver } from "../agents/driver.ts";
import type { Platform, SessionRecord } from "../agents/session.ts";
import { saveMemory } from "../handover/save.ts";
import type { Finding } from "../messages/finding.ts";
import { ActionStore } from "../store/actions.ts";
import { AlertStore } from "../store/alerts.ts";
import { OutboxStore } from "../store/outbox.ts";
import type { Runtime } from "../store/runtime.ts";
import { SeriesStore } from "../store/series.ts";
import { SilenceStore } from "../store/silences.ts";
import { type Turn, TurnStore } from "../store/turns.ts";
import { actionRef } from "./action-views.ts";
import { ActionRefused, corruptedSessions, planCleanup, planReset, planRestart, restartLimit } from "./actions.ts";
import { AlertLookupError, AlertOps } from "./alert-ops.ts";
import { ActionWorkflow } from "./approvals.ts";
import { fallbackOrderNow, fallbackStatsNow } from "./fallback-stats.ts";
import type { ModelFallbackStats } from "./fallback-view.ts";
import { Feed } from "./feed.ts";
import { type GatewayProbe, gatewayProbe } from "./gateway-health.ts";
import { type HealthReport, healthReport } from "./health.ts";
import { listSessions, type SessionList, type SessionListQuery } from "./session-list.ts";
import { WorkerOps } from "./workers.ts";

export type { ListedSession, SessionList, SessionListQuery, SessionScope, SessionSort, StateFilter } from "./session-list.ts";

/** The outcome of looking a session up by id or prefix. */
export type SessionLookup = { kind: "found"; session: SessionRecord } | { kind: "ambiguous"; candidates: SessionRecord[] } | { kind: "none" };

export interface ManagerOptions {
  /** How a restart is verified; default: the configured gateway probe. */
  probe?: GatewayProbe;
  probeIntervalMs?: number;
  /** The approval clock (tests move it past an expiry). */
  clock?: () => number;
  /** Worker drivers (tests point them at fakes); default: every agent's own. */
  workerDrivers?: Readonly<Partial<Record<Platform, Driver>>>;
}

/**
 * The one facade that chat commands, the inbound button handler and the scheduler call. It reads
 * only asm's store (never the agents' files), holds no transport code, and leaves SQL to the
 * stores in `src/store/`.
 *
 * ```ts
 * const manager = new Manager(rt);
 * manager.start();                       // before the transports
 * manager.feed.attach(transports);
 * await manager.handleProposedActions(findings);   // each scheduler cycle
 * ```
 */
export class Manager {
  readonly feed: Feed;
  readonly actions: ActionWorkflow;
  readonly actionStore: ActionStore;
  readonly series: SeriesStore;
  readonly alerts: AlertOps;
  /** Managed workers (`/spawn`, `/workers`, …). */
  readonly workers: WorkerOps;
  private readonly outbox: OutboxStore;
  private readonly turns: TurnStore;
  readonly startedAt = Date.now();

  constructor(
    readonly rt: Runtime,
    options: ManagerOptions = {},
  ) {
    this.feed = new Feed(rt.log);
    this.actionStore = new ActionStore(rt.db);
    this.series = new SeriesStore(rt.db);
    this.turns = new TurnStore(rt.db);
    this.outbox = new OutboxStore(rt.db);
    this.alerts = new AlertOps(new AlertStore(rt.db), new SilenceStore(rt.db));
    this.workers = new WorkerOps(rt, this.feed, options.workerDrivers ? { drivers: options.workerDrivers } : {});
    this.actions = new ActionWorkflow({
      config: rt.config,
      log: rt.log,
      store: this.actionStore,
      sessions: rt.sessions,
      kv: rt.kv,
      feed: this.feed,
      probe: options.probe ?? gatewayProbe(rt.config),
      ...(options.probeIntervalMs !== undefined ? { probeIntervalMs: options.probeIntervalMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      spawnWorker: (w) =>
        this.workers.runner.spawn({ agent: w.agent, workspace: "openclaw-state", internalDir: w.cwd, prompt: w.prompt, requestedBy: w.requestedBy }).id,
      saveMemory: async (uid) => {
        const s = rt.sessions.get(uid);
        if (!s) throw new Error(`session ${uid} is not in the store`);
        return (await saveMemory({ db: rt.db, config: rt.config, log: rt.log }, s)).filePath;
      },
    });
  }

  start(): void {
    this.actions.start();
  }

  /** Recovers workers a previous run left; after the transports are attached, so their results reach the chat. */
  startWorkers(): void {
    this.workers.start();
  }

  async stop(): Promise<void> {
    await this.workers.stop();
    await this.actions.stop();
  }

  /** Sessions, most urgent first by default (the checked ones, fullest first), with the total and what was left out. */
  sessions(q: SessionListQuery, now = Date.now()): SessionList {
    return listSessions(this.rt.sessions, q, this.rt.config, now);
  }

  /** A session by uid, session id, or a prefix of either that matches exactly one. */
  findSession(idOrPrefix: string): SessionLookup {
    const exact = this.rt.sessions.get(idOrPrefix);
    if (exact) return { kind: "found", session: exact };
    const matches = this.rt.sessions.findByPrefix(idOrPrefix, 10);
    const same = matches.filter((s) => s.sessionId === idOrPrefix);
    if (same.length === 1) return { kind: "found", session: same[0]! };
    if (matches.length === 1) return { kind: "found", session: matches[0]! };
    if (matches.length === 0) return { kind: "none" };
    return { kind: "ambiguous", candidates: same.length > 1 ? same : matches };
  }

  /** The last `n` turns' token usage of a session, oldest first. */
  recentTurns(uid: string, n = 5): Turn[] {
    return this.turns.forSession(uid).slice(-n);
  }

  health(now = Date.now()): HealthReport {
    return healthReport(
      {
        config: this.rt.config,
        db: this.rt.db,
        kv: this.rt.kv,
        sessions: this.rt.sessions,
        series: this.series,
        actions: this.actionStore,
        alerts: new AlertStore(this.rt.db),
        outboxBacklog: () => this.outbox.backlog(),
        startedAt: this.startedAt,
      },
      now,
    );
  }

  /**
   * What `/cleanup` offers to remove, with why: OpenClaw entries whose transcript path is null or
   * whose file is missing, and stray sessions the duplicates check has an open alert about.
   */
  cleanupCandidates(): { session: SessionRecord; why: string }[] {
    const out = corruptedSessions(this.rt.sessions, "activity").map((session) => ({ session, why: String(session.extra.transcriptProblem) }));
    for (const a of this.alerts.list(false)) {
      const pa = a.report.proposedAction;
      if (a.check !== "duplicates" || pa?.kind !== "cleanup" || !pa.target || out.some((c) => c.session.uid === pa.target)) continue;
      const session = this.rt.sessions.get(pa.target);
      if (session?.present) out.push({ session, why: `stray: ${a.summary}` });
    }
    return out;
  }

  /** Asks for a gateway restart; throws ActionRefused when none is configured. */
  requestRestart(requestedBy: string, reason: string | null) {
    const open = this.actionStore.open("restart_gateway", null);
    if (open.length) throw new ActionRefused("restart_gateway", `a restart is already ${open[0]!.status} (${actionRef(open[0]!.id)})`);
    const now = this.actions.now();
    const windowStart = now - this.rt.config.checks.gateway.restartWindowMinutes * 60_000;
    const started = this.actionStore.since("restart_gateway", windowStart - 86_400_000).flatMap((a) => (a.startedAt === null ? [] : [a.startedAt]));
    return this.actions.request(planRestart(this.rt.config, restartLimit(this.rt.config, started, now)), requestedBy, reason);
  }

  /** Asks for a reset of an observed OpenClaw session (resolved from our store, never from chat text). */
  requestReset(session: SessionRecord, requestedBy: string, reason: string | null) {
    const open = this.actionStore.open("reset_session", session.uid);
    if (open.length) throw new ActionRefused("reset_session", `a reset of this session is already ${open[0]!.status} (${actionRef(open[0]!.id)})`);
    return this.actions.request(planReset(this.rt.config, session), requestedBy, reason);
  }

  /** Asks for a cleanup of corrupted/stray entries; throws ActionRefused when there is nothing asm may do. */
  requestCleanup(requestedBy: string, reason: string | null) {
    const candidates = this.cleanupCandidates();
    const plan = planCleanup(
      this.rt.config,
      candidates.map((c) => c.session),
    );
    const open = this.actionStore.open("cleanup", plan.target);
    if (open.length) throw new ActionRefused("cleanup", `a cleanup is already ${open[0]!.status} (${actionRef(open[0]!.id)})`);
    const why = new Map(candidates.map((c) => [c.session.uid, c.why]));
    return { plan, why, action: this.actions.request(plan, requestedBy, reason) };
  }

  /**
   * The action an alert's finding proposes (its "Request …" button), put up for approval. Throws
   * AlertLookupError for an unknown or resolved alert, ActionRefused when it cannot be requested.
   */
  requestForAlert(alertId: number, requestedBy: string) {
    const alert = this.alerts.get(alertId);
    if (!alert) throw new AlertLookupError(`no alert #${alertId}`);
    if (alert.status === "resolved") throw new AlertLookupError(`#${alertId} has resolved; nothing to do`);
    const pa = alert.report.proposedAction;
    if (!pa) throw new AlertLookupError(`#${alertId} proposes no action`);
    const target = pa.kind === "reset_session" ? (pa.target ?? null) : null;
    const open = this.actionStore.open(pa.kind, target);
    if (open.length) throw new ActionRefused(pa.kind, `already requested (${actionRef(open[0]!.id)}, ${open[0]!.status})`);
    return this.actions.request(this.actions.planProposed(pa), requestedBy, alert.summary, { fingerprint: alert.fingerprint });
  }

  /** Per model: failures by class, rates, breakers and the effective fallback order (`/fallback`, `asm fallback`). */
  fallbackStats(now = Date.now()): ModelFallbackStats[] {
    return fallbackStatsNow(this.rt, (m) => this.workers.runner.breaker(m), now);
  }

  /** The order a new chained worker falls back in now: `runner.fallbackOrder`, tiers re-sorted by what was measured. */
  fallbackOrder(now = Date.now()): string[] {
    return fallbackOrderNow(this.rt, (m) => this.workers.runner.breaker(m), now);
  }

  /** The scheduler's hook: findings that propose actions become requests (or auto runs). */
  handleProposedActions(findings: Finding[]) {
    return this.actions.handleProposedActions(findings);
  }
}

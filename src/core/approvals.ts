import { randomBytes } from "node:crypto";
import { fingerprint } from "../alerts/lifecycle.ts";
import type { Config } from "../config/schema.ts";
import type { Severity } from "../config/sections/common.ts";
import type { Logger } from "../lib/log.ts";
import { type Finding, type ProposedAction, severityRank } from "../messages/finding.ts";
import type { Caller, MessageRef } from "../messages/transport.ts";
import { textView, type View } from "../messages/view.ts";
import type { ActionRecord, ActionStore } from "../store/actions.ts";
import type { KvStore } from "../store/kv.ts";
import type { SessionStore } from "../store/sessions.ts";
import { type ActionResult, executeAction, type RunnerDeps } from "./action-exec.ts";
import { actionRef, approvalView, outcomeView } from "./action-views.ts";
import {
  type ActionDetails,
  type ActionPlan,
  ActionRefused,
  corruptedSessions,
  isAuto,
  kindLabels,
  planCleanup,
  planRepair,
  planReset,
  planRestart,
  type RestartLimit,
} from "./actions.ts";
import type { Feed, FeedPlace } from "./feed.ts";
import { type GatewayProbe, gatewayLogTail } from "./gateway-health.ts";

/** What pressing Approve or Deny did, for the transport to show. */
export interface Decision {
  /** True when this press decided the action. */
  decided: boolean;
  /** A short answer for the presser (toast). */
  toast: string;
  /** The message the button was on, as it should now look. */
  view?: View;
}

export interface WorkflowDeps {
  config: Config;
  log: Logger;
  store: ActionStore;
  sessions: SessionStore;
  kv: KvStore;
  feed: Feed;
  probe: GatewayProbe;
  /** Verification polling interval (tests shorten it). */
  probeIntervalMs?: number;
  clock?: () => number;
  /** Starts a repair worker (the manager wires it to its runner). */
  spawnWorker?: RunnerDeps["spawnWorker"];
  /** Saves a session's memory (before a reset, so what it knew is kept); returns where the file went, or null. */
  saveMemory?: (sessionUid: string) => Promise<string | null>;
}

/** kv key: fingerprint of a firing alert → the action requested for it, so each firing asks once. */
const PROPOSED_KEY = "actions.proposed";

/** What was asked for one firing: the action (0 = could not be requested) and at which severity. */
interface ProposedEntry {
  id: number;
  severity: Severity;
}

/** The kv record, accepting the older shape (fingerprint → action id) as asked at critical. */
function readProposed(raw: Record<string, ProposedEntry | number> | undefined): Record<string, ProposedEntry> {
  const out: Record<string, ProposedEntry> = {};
  for (const [fp, v] of Object.entries(raw ?? {})) out[fp] = typeof v === "number" ? { id: v, severity: "critical" } : v;
  return out;
}

const sameMessage = (a: MessageRef, b: MessageRef) => a.transport === b.transport && a.chatId === b.chatId && a.messageId === b.messageId;

/** `telegram:42`: who did something, for the audit trail. */
export const who = (c: Pick<Caller, "transport" | "userId">) => `${c.transport}:${c.userId}`;

/**
 * The approval workflow: request → (approve | deny | expire) → run → verify → report. Every state
 * change is a conditional UPDATE in the actions store, so double clicks, replays, forged or expired
 * buttons and non-admins run nothing; each refusal says why and is logged (never alerted).
 */
export class ActionWorkflow {
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  /** Aborted by `stop()`: a restart's verification ends early instead of holding up the shutdown. */
  private stopping = new AbortController();
  /** The approval clock. */
  readonly now: () => number;

  constructor(private readonly deps: WorkflowDeps) {
    this.now = deps.clock ?? Date.now;
  }

  /** Expires due requests every 30 s and finishes actions a previous process left approved or running. */
  start(): void {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    const now = this.now();
    const stale = this.deps.config.actions.expiryMinutes * 60_000;
    for (const a of this.deps.store.interrupted()) {
      if (a.status === "approved" && now - (a.decidedAt ?? a.createdAt) <= stale) this.launch(a);
      else if (a.status === "approved") {
        // Approved, then asm stopped before it ran; too long ago for the approval to still mean "now".
        if (this.deps.store.start(a.id, now)) {
          const note = "not run: asm stopped before it started, and the approval is too old; request it again";
          this.deps.store.finish(a.id, { status: "failed", exitCode: null, outputTail: "", verifyNote: note }, now);
          void this.notify(a.id);
        }
      } else {
        this.deps.store.abandon(a.id, "asm stopped while it was running; check the result by hand", now);
        void this.notify(a.id);
      }
    }
    this.timer = setInterval(() => void this.expire(), 30_000);
    this.timer.unref();
  }

  /**
   * Stops the expiry timer and waits for running actions to finish: a command runs to its end (or
   * its timeout), a restart's verification is cut short and recorded as unverified.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopping.abort();
    await this.idle();
  }

  /** Resolves when no action is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  /**
   * Puts a plan up for approval (or, `auto`, records it as approved by "auto"; the caller posts
   * where it will be reported, then `launch`es it). The row is the audit record.
   */
  request(plan: ActionPlan, requestedBy: string, reason: string | null, opts: { fingerprint?: string; auto?: boolean } = {}): ActionRecord {
    const now = this.now();
    const action = this.deps.store.create({
      kind: plan.kind,
      target: plan.target,
      reason,
      requestedBy,
      nonce: randomBytes(8).toString("hex"),
      createdAt: now,
      expiresAt: now + this.deps.config.actions.expiryMinutes * 60_000,
      fingerprint: opts.fingerprint ?? null,
      details: plan.details as unknown as Record<string, unknown>,
      ...(opts.auto ? { preApprovedBy: "auto" } : {}),
    });
    this.deps.log.info(
      { audit: "action.requested", id: action.id, kind: action.kind, target: action.target, by: requestedBy, auto: Boolean(opts.auto) },
      "action requested",
    );
    return action;
  }

  /** Remembers where an approval message was posted, to edit it with the outcome. */
  recordMessage(id: number, ref: MessageRef): void {
    this.deps.store.addMessageRef(id, ref);
  }

  /**
   * Approve or deny. One conditional UPDATE decides; when it changes nothing, the row is read only
   * to explain why (non-admin, forged nonce, already decided, expired), and nothing runs.
   */
  async decide(caller: Caller, id: number, nonce: string, approve: boolean, message: MessageRef | null, anyway = false): Promise<Decision> {
    const now = this.now();
    const by = who(caller);
    const admin = caller.allowed && caller.admin;
    const refuse = (toast: string, level: "info" | "warn" = "info"): Decision => {
      this.deps.log[level]({ audit: "action.refused", id, by, admin, reason: toast }, "approval refused");
      return { decided: false, toast };
    };
    // A press counts only on a message the request was posted to (not a copy of its data elsewhere).
    const before = this.deps.store.get(id);
    if (before && admin && before.nonce === nonce && message && before.messageRefs.length && !before.messageRefs.some((r) => sameMessage(r, message))) {
      return refuse(`This button does not belong to request ${actionRef(id)}; use the one on its message, or /approve ${actionRef(id)}.`, "warn");
    }
    // A restart asked for past the restart limit runs only on an explicit "Run anyway".
    const details = before?.details as ActionDetails | undefined;
    const overLimit: RestartLimit | undefined = details?.mode === "argv" ? details.overLimit : undefined;
    if (before && admin && before.nonce === nonce && before.status === "pending" && approve && overLimit && !anyway) {
      return refuse(
        `${actionRef(id)} is past the restart limit (${overLimit.recent} restarts in ${overLimit.windowMinutes} min, limit ${overLimit.max}): press "Run anyway" or send /approve ${actionRef(id)} anyway.`,
      );
    }
    const changed = this.deps.store.decide(id, nonce, approve ? "approved" : "denied", by, admin, now);
    const action = this.deps.store.get(id);
    if (!changed) {
      if (!action) return refuse("This request does not exist.", "warn");
      if (!admin) return refuse("Only an admin can approve or deny this.", "warn");
      if (action.nonce !== nonce) return refuse("This button is not valid for that request (forged or replayed).", "warn");
      if (action.status === "pending" && action.expiresAt <= now) {
        await this.expire();
        return {
          decided: false,
          toast: "This request has expired; nothing was run. Ask again if it is still needed.",
          view: outcomeView(this.deps.store.get(id)!),
        };
      }
      const done = action.status === "expired" ? "has expired" : `was already decided (${action.status}${action.decidedBy ? `, by ${action.decidedBy}` : ""})`;
      return { ...refuse(`Nothing to do: ${actionRef(id)} ${done}.`), view: outcomeView(action) };
    }
    if (message) this.recordMessage(id, message);
    this.deps.log.info(
      { audit: approve ? "action.approved" : "action.denied", id, kind: action!.kind, target: action!.target, by },
      approve ? "action approved" : "action denied",
    );
    if (!approve) {
      await this.notify(id);
      return { decided: true, toast: `Denied ${actionRef(id)}; nothing was run.`, view: outcomeView(this.deps.store.get(id)!) };
    }
    // Other chats that show this request lose their buttons now, not when the run ends.
    await this.notify(id, message, { ...action!, status: "running" });
    this.launch(action!);
    return { decided: true, toast: `Approved ${actionRef(id)}: ${kindLabels[action!.kind]} is running.`, view: outcomeView({ ...action!, status: "running" }) };
  }

  /**
   * `/approve <id>` and `/deny <id>`: the same decision as pressing the request's button, for an
   * admin who has no message with it (a non-admin's request made in a private chat).
   */
  async decideById(caller: Caller, id: number, approve: boolean, anyway = false): Promise<Decision> {
    return this.decide(caller, id, this.deps.store.get(id)?.nonce ?? "", approve, null, anyway);
  }

  /**
   * Posts a request (as `view`, default its approval message) to every feed, where the admins are,
   * and records where it landed; returns what to answer the person who asked: a note when it
   * was posted in their own chat, the request with its buttons for an admin elsewhere, and for
   * anyone else a note that the admins were asked.
   */
  /**
   * An approval request goes where admins are: the feed, and the private chat of every admin who has used the bot
   * there (`rememberAdminChat`). Every message is recorded, so a press counts on any of them and each is edited.
   */
  private async postApproval(view: View, except?: Caller): Promise<MessageRef[]> {
    const refs = await this.deps.feed.post(view);
    const dms = adminChats(this.deps.kv).filter(
      (p) =>
        !refs.some((r) => r.transport === p.transport && r.chatId === p.chatId) && !(except && p.transport === except.transport && p.chatId === except.chatId),
    );
    return [...refs, ...(dms.length ? await this.deps.feed.postDirect(view, dms) : [])];
  }

  async announce(action: ActionRecord, caller: Caller, view: View = approvalView(action)): Promise<View> {
    const refs = await this.postApproval(view, caller.admin ? caller : undefined);
    for (const ref of refs) this.recordMessage(action.id, ref);
    if (refs.some((r) => r.transport === caller.transport && caller.chatId !== undefined && r.chatId === caller.chatId)) {
      return textView(`Requested ${actionRef(action.id)}: the approval request is posted in this chat.`, { silent: true });
    }
    if (caller.admin) return view;
    const where = refs.length ? "posted in the alert feed" : "no feed could be reached; an admin can /approve it";
    return textView(`Asked the admins to approve ${actionRef(action.id)} (${where}). /actions shows where it stands.`);
  }

  /** Marks due requests expired and shows that on their messages. */
  async expire(): Promise<ActionRecord[]> {
    const expired = this.deps.store.expireDue(this.now());
    for (const a of expired) {
      this.deps.log.info({ audit: "action.expired", id: a.id, kind: a.kind }, "action expired");
      await this.notify(a.id);
    }
    return expired;
  }

  /**
   * What the scheduler calls with each cycle's findings: a finding that proposes an action gets one
   * request per firing — run at once in auto mode, else posted to every feed for approval. A firing
   * is remembered (kv) for as long as its alert is reported at all, even in cycles where the check
   * stops proposing (while a restart is pending, say): a denied or expired request is not asked
   * again until the alert goes away and fires anew, or escalates. Restarts are never requested
   * when `checks.gateway.restart` is "off".
   */
  async handleProposedActions(findings: Finding[]): Promise<ActionRecord[]> {
    const { config, kv, store, feed, log } = this.deps;
    const proposed = readProposed(kv.get<Record<string, ProposedEntry | number>>(PROPOSED_KEY));
    const host = config.host.name;
    const reported = new Set(findings.map((f) => fingerprint(f, host)));
    const firing = new Map(findings.filter((f) => f.proposedAction).map((f) => [fingerprint(f, host), f]));
    const next: Record<string, ProposedEntry> = {};
    for (const [fp, entry] of Object.entries(proposed)) if (reported.has(fp)) next[fp] = entry;
    const created: ActionRecord[] = [];
    for (const [fp, f] of firing) {
      const asked = next[fp];
      // Asked already in this firing; only an escalation asks again.
      if (asked && severityRank[f.severity] <= severityRank[asked.severity]) continue;
      const pa = f.proposedAction!;
      if (pa.kind === "restart_gateway" && config.checks.gateway.restart === "off") continue;
      const existing = store.open(pa.kind, pa.kind === "restart_gateway" || pa.kind === "repair_gateway" ? null : (pa.target ?? null));
      if (existing.length) {
        next[fp] = { id: existing[0]!.id, severity: f.severity };
        continue;
      }
      let plan: ActionPlan;
      try {
        plan = this.planProposed(pa);
      } catch (err) {
        if (!(err instanceof ActionRefused)) throw err;
        log.warn({ fingerprint: fp, kind: pa.kind, reason: err.message }, "proposed action cannot be requested");
        next[fp] = { id: 0, severity: f.severity };
        continue;
      }
      const auto = isAuto(config, pa.kind);
      const action = this.request(plan, `check:${f.check}`, f.summary, { fingerprint: fp, auto });
      next[fp] = { id: action.id, severity: f.severity };
      created.push(action);
      const refs = auto ? await feed.post(outcomeView({ ...action, status: "running" })) : await this.postApproval(approvalView(action));
      for (const ref of refs) this.recordMessage(action.id, ref);
      if (auto) this.launch(action);
    }
    kv.set(PROPOSED_KEY, next);
    return created;
  }

  /** The plan for an action a finding proposed; throws ActionRefused when it cannot be requested. */
  planProposed(pa: ProposedAction): ActionPlan {
    const { config, sessions } = this.deps;
    if (pa.kind === "restart_gateway") return planRestart(config);
    if (pa.kind === "repair_gateway") return planRepair(config, config.sources.openclaw.root, pa.context ?? [], gatewayLogTail(config, this.now()));
    if (pa.kind === "reset_session") {
      const s = pa.target ? sessions.get(pa.target) : undefined;
      if (!s) throw new ActionRefused(pa.kind, `session ${pa.target ?? "(none)"} is not in the store`);
      return planReset(config, s);
    }
    if (pa.target) {
      const s = sessions.get(pa.target);
      if (!s) throw new ActionRefused(pa.kind, `session ${pa.target} is not in the store`);
      return planCleanup(config, [s]);
    }
    return planCleanup(config, corruptedSessions(sessions));
  }

  /** Runs an approved action in the background (a transport must never wait on a restart). */
  launch(action: ActionRecord): void {
    const p = this.run(action).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  private async run(action: ActionRecord): Promise<void> {
    const { store, log } = this.deps;
    if (!store.start(action.id, this.now())) return;
    let result: ActionResult;
    // A reset always keeps what the session knew: its memory is saved first, and a reset goes on only once it is.
    let memoryNote = "";
    if (action.kind === "reset_session" && action.target && this.deps.saveMemory) {
      try {
        const file = await this.deps.saveMemory(action.target);
        memoryNote = file ? `memory saved to ${file}; ` : "memory saved (/memory shows it); ";
      } catch (err) {
        result = { status: "failed", exitCode: null, outputTail: "", verifyNote: `not reset: its memory could not be saved first: ${(err as Error).message}` };
        store.finish(action.id, result, this.now());
        log.warn({ err, id: action.id }, "reset refused: memory not saved");
        await this.notify(action.id);
        return;
      }
    }
    try {
      result = await executeAction(action, {
        config: this.deps.config,
        probe: this.deps.probe,
        probeIntervalMs: this.deps.probeIntervalMs,
        signal: this.stopping.signal,
        ...(this.deps.spawnWorker ? { spawnWorker: this.deps.spawnWorker } : {}),
      });
    } catch (err) {
      result = { status: "failed", exitCode: null, outputTail: "", verifyNote: `could not run: ${(err as Error).message}` };
    }
    if (memoryNote) result = { ...result, verifyNote: memoryNote + result.verifyNote };
    store.finish(action.id, result, this.now());
    log.info(
      { audit: "action.finished", id: action.id, kind: action.kind, status: result.status, exitCode: result.exitCode, verify: result.verifyNote },
      "action finished",
    );
    await this.notify(action.id);
  }

  /** Edits every recorded approval message of an action to show where it stands, without buttons. */
  private async notify(id: number, except: MessageRef | null = null, as?: ActionRecord): Promise<void> {
    const action = as ?? this.deps.store.get(id);
    if (!action) return;
    const view = outcomeView(action);
    const same = (r: MessageRef) => except !== null && sameMessage(r, except);
    for (const ref of action.messageRefs) if (!same(ref)) await this.deps.feed.edit(ref, view);
  }
}

/** kv key: the private chats of admins who have used the bot there (approval requests are posted to them too). */
const ADMIN_CHATS_KEY = "approvals.adminChats";

/** The admins' private chats asm knows of. */
export function adminChats(kv: KvStore): FeedPlace[] {
  const v = kv.get<FeedPlace[]>(ADMIN_CHATS_KEY);
  return Array.isArray(v) ? v.filter((p) => p && typeof p.transport === "string" && typeof p.chatId === "string") : [];
}

/**
 * Remembers an admin's private chat when they use the bot there (a Telegram private chat, a Discord DM),
 * so approval requests reach them where they are. Nothing is recorded for anyone else or any other chat.
 */
export function rememberAdminChat(kv: KvStore, caller: Caller): void {
  if (!caller.admin || !caller.chatId || !(caller.direct ?? caller.chatId === caller.userId)) return;
  const known = adminChats(kv);
  if (known.some((p) => p.transport === caller.transport && p.chatId === caller.chatId)) return;
  kv.set(ADMIN_CHATS_KEY, [...known, { transport: caller.transport, chatId: caller.chatId }]);
}

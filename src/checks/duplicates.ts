import type { OpenClawBinding, OpenClawConfig } from "../agents/openclaw/config.ts";
import { agentOf } from "../agents/registry.ts";
import type { SessionRecord } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import type { Finding } from "../messages/finding.ts";
import type { Observations } from "../observe/observations.ts";

/** A peer as OpenClaw sessions name it: "<channel>:<kind>:<id>" (e.g. "telegram:dm:4411"). */
export interface Peer {
  channel: string;
  kind: string;
  id: string;
}

/** Parses "telegram:group:-100123"; the id may itself contain colons. Null for anything else. */
export function parsePeer(peer: string): Peer | null {
  const m = /^([^:]+):([^:]+):(.+)$/.exec(peer);
  return m ? { channel: m[1]!, kind: m[2]!, id: m[3]! } : null;
}

/** OpenClaw spells a direct chat "direct" in bindings and "dm" in session keys. */
const sameKind = (a: string, b: string) => {
  const norm = (k: string) => (k === "direct" ? "dm" : k);
  return norm(a) === norm(b);
};

/** How specific a binding's match is for this peer: 3 = peer, 2 = account, 1 = channel; 0 = no match. */
function matchTier(b: OpenClawBinding, peer: Peer, accountId: string | null): number {
  if (b.channel !== null && b.channel !== peer.channel) return 0;
  if (b.accountId !== null && b.accountId !== accountId) return 0;
  if (b.peer !== null) return sameKind(b.peer.kind, peer.kind) && b.peer.id === peer.id ? 3 : 0;
  if (b.accountId !== null) return 2;
  return b.channel !== null ? 1 : 0;
}

/**
 * The agent the current bindings route this peer to, most specific match first (first wins within a
 * tier, as in OpenClaw). Null when no binding matches: then the default agent answers, which we do not
 * second-guess.
 */
export function routedAgent(cfg: OpenClawConfig, peer: Peer, accountId: string | null): string | null {
  let best: { tier: number; agentId: string } | null = null;
  for (const b of cfg.bindings) {
    const tier = matchTier(b, peer, accountId);
    if (tier > 0 && (best === null || tier > best.tier)) best = { tier, agentId: b.agentId };
  }
  return best?.agentId ?? null;
}

const peerOf = (s: SessionRecord) => (typeof s.extra.peer === "string" && s.extra.peer ? s.extra.peer : null);
const accountOf = (s: SessionRecord) => (typeof s.extra.accountId === "string" ? s.extra.accountId : null);

/**
 * **duplicates**: the same chat peer with sessions in several OpenClaw agents (`peer:<peer>`), and a
 * session living in an agent that the current bindings do not route its peer to (`session:<uid>`,
 * "stray"). Needs openclaw.json for strays; without it only duplicates are reported.
 */
export function checkDuplicates(obs: Observations, config: Config, _now: number): Finding[] {
  const c = config.checks.duplicates;
  const findings: Finding[] = [];
  const byPeer = new Map<string, SessionRecord[]>();
  for (const s of obs.sessions) {
    const peer = agentOf(s.platform).capabilities.chatPeers && s.present ? peerOf(s) : null;
    if (!peer || !s.agentId) continue;
    byPeer.set(peer, [...(byPeer.get(peer) ?? []), s]);
  }
  for (const [peer, sessions] of byPeer) {
    const agents = [...new Set(sessions.map((s) => s.agentId!))].sort();
    if (agents.length < 2) continue;
    findings.push({
      check: "duplicates",
      subject: `peer:${peer}`,
      severity: c.severity,
      summary: `${peer} has sessions in ${agents.length} OpenClaw agents: ${agents.join(", ")}`,
      component: `OpenClaw peer ${peer}`,
      value: `${agents.length} agents`,
      threshold: "1 agent per peer",
      action: "Keep the session in the agent the bindings route this peer to; back up and remove the others",
      details: { peer, agents, sessions: sessions.map((s) => s.uid) },
    });
  }
  const cfg = obs.openclaw.config;
  // The OpenClaw source records a broken openclaw.json as a source problem (the transcript check's
  // `file:` finding); say it here only when nobody else does.
  const reported = obs.sourceProblems.some((p) => p.path === obs.openclaw.path);
  if (obs.openclaw.error && !reported) {
    findings.push({
      check: "duplicates",
      subject: "openclaw-config",
      severity: c.severity,
      summary: `cannot check OpenClaw routing: ${obs.openclaw.error}`,
      component: "OpenClaw config",
      value: obs.openclaw.error,
      threshold: "a readable openclaw.json",
      action: "Fix openclaw.json (OpenClaw itself may be failing to load it), or set sources.openclaw.configPath",
      details: { error: obs.openclaw.error },
    });
  }
  if (!cfg) return findings;
  for (const sessions of byPeer.values()) {
    for (const s of sessions) {
      const peer = parsePeer(peerOf(s)!);
      if (!peer) continue;
      const routed = routedAgent(cfg, peer, accountOf(s));
      if (routed === null || routed === s.agentId) continue;
      findings.push({
        check: "duplicates",
        subject: `session:${s.uid}`,
        severity: c.severity,
        summary: `stray session: ${peerOf(s)} lives in agent ${s.agentId}, but bindings route it to ${routed}`,
        component: `session ${s.uid}`,
        value: `agent ${s.agentId}`,
        threshold: `agent ${routed} (per ${cfg.path})`,
        action: `Back up and remove the stray session from agent ${s.agentId}, or fix the binding if ${s.agentId} is right`,
        proposedAction: { kind: "cleanup", target: s.uid },
        details: { uid: s.uid, peer: peerOf(s), agent: s.agentId, routedTo: routed },
      });
    }
  }
  return findings;
}

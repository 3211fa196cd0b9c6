import type { FallbackDecision } from "../agents/agent.ts";
import { configuredModel } from "../agents/openclaw/config.ts";
import { agentOf } from "../agents/registry.ts";
import type { SessionRecord } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import { formatDuration, formatPercent } from "../lib/present.ts";
import type { Finding } from "../messages/finding.ts";
import type { Observations } from "../observe/observations.ts";

/**
 * The comparable part of a model id: lower case, provider prefix dropped, so "anthropic/claude-opus-4-6"
 * in openclaw.json and "claude-opus-4-6" in a transcript are the same model.
 */
export const modelKey = (model: string) => model.trim().toLowerCase().replace(/^.*\//, "");

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/** What an OpenClaw session was meant to run on and what it actually runs on, with the reason if known. */
export interface ModelMismatch {
  selected: string;
  active: string;
  reason: string | null;
}

/**
 * Selected vs active model of an OpenClaw session. A model the user picked (`modelOverrideSource`
 * "user") is the selection; otherwise the fallback notice, the origin model, or the configured primary
 * (from openclaw.json, else as the source recorded it in `extra.configuredModel`).
 */
export function modelMismatch(s: SessionRecord, configured: string | null): ModelMismatch | null {
  const x = s.extra;
  const userPick = x.modelOverrideSource === "user" ? str(x.modelOverride) : null;
  const selected = userPick ?? str(x.fallbackNoticeSelectedModel) ?? str(x.fallbackOriginModel) ?? configured ?? str(x.configuredModel);
  const active = str(x.lastAssistantModel) ?? str(x.fallbackNoticeActiveModel) ?? (x.modelOverrideSource === "auto" ? str(x.modelOverride) : null);
  if (!selected || !active || modelKey(selected) === modelKey(active)) return null;
  return { selected, active, reason: str(x.fallbackNoticeReason) ?? str(x.lastErrorReason) };
}

/** The model chains OpenClaw is configured with: the defaults and each agent's own. */
function configuredChains(obs: Observations): { name: string; models: string[] }[] {
  const cfg = obs.openclaw.config;
  if (!cfg) return [];
  const chains = [{ name: "openclaw:defaults", models: [cfg.primaryModel, ...cfg.fallbacks] }];
  for (const [agent, m] of Object.entries(cfg.perAgentModel)) chains.push({ name: `openclaw:${agent}`, models: [m.primary, ...m.fallbacks] });
  return chains.map((c) => ({ name: c.name, models: [...new Set(c.models.filter((m): m is string => !!m))] })).filter((c) => c.models.length >= 2);
}

/**
 * **fallback-rate**: from the fallback decisions in the window — a model falling back on more than
 * `ratePercent` of its requests (`model:<id>`), more than `maxConsecutiveFailures` failures of one
 * model with no success in between (`model:<id>:streak`), every model of a chain failing (critical,
 * `chain:<worker>`); and OpenClaw sessions running on another model than selected (`session:<uid>`).
 */
export function checkFallbackRate(obs: Observations, config: Config, now: number): Finding[] {
  const c = config.checks.fallbackRate;
  const windowMs = c.windowMinutes * 60_000;
  const window = formatDuration(windowMs);
  const decisions = obs.fallback.decisions.filter((d) => d.ts >= now - windowMs && d.ts <= now);
  const findings: Finding[] = [];
  const turns = new Map<string, { turns: number; lastTurnAt: number | null }>();
  for (const t of obs.fallback.modelTurns) {
    const k = modelKey(t.model);
    const prev = turns.get(k) ?? { turns: 0, lastTurnAt: null };
    turns.set(k, { turns: prev.turns + t.turns, lastTurnAt: Math.max(prev.lastTurnAt ?? 0, t.lastTurnAt ?? 0) || null });
  }
  const byModel = new Map<string, FallbackDecision[]>();
  for (const d of decisions) byModel.set(modelKey(d.originalModel), [...(byModel.get(modelKey(d.originalModel)) ?? []), d]);

  for (const [model, ds] of byModel) {
    const ok = turns.get(model) ?? { turns: 0, lastTurnAt: null };
    const attempts = ok.turns + ds.length;
    const rate = (ds.length / attempts) * 100;
    const errors = [...new Set(ds.map((d) => d.errorType).filter(Boolean))];
    // Without successes seen in transcripts the denominator is unknown (a worker we do not read):
    // the streak rule below speaks for a model that only fails.
    if (ok.turns > 0 && attempts >= c.minAttempts && rate > c.ratePercent) {
      findings.push({
        check: "fallback-rate",
        subject: `model:${model}`,
        severity: c.severity,
        summary: `${model} fell back on ${formatPercent(rate)} of requests in the last ${window}${errors.length ? ` (${errors.join(", ")})` : ""}`,
        component: `model ${model}`,
        value: `${ds.length} of ${attempts} requests (${formatPercent(rate)})`,
        threshold: `${c.ratePercent}% in ${window}`,
        action: "Check the provider's status and quota; consider moving its traffic to the next model",
        details: { model, fallbacks: ds.length, attempts, errors },
      });
    }
    const streak = ds.filter((d) => ok.lastTurnAt === null || d.ts > ok.lastTurnAt);
    if (streak.length > c.maxConsecutiveFailures) {
      findings.push({
        check: "fallback-rate",
        subject: `model:${model}:streak`,
        severity: c.severity,
        summary: `${model} failed ${streak.length} times in a row${errors.length ? ` (${errors.join(", ")})` : ""}`,
        component: `model ${model}`,
        value: `${streak.length} consecutive failures`,
        threshold: `more than ${c.maxConsecutiveFailures}`,
        action: "The model is failing every request: check its provider, key and quota",
        details: { model, streak: streak.length, since: streak[0]!.ts },
      });
    }
  }

  const exhausted = new Map<string, FallbackDecision[]>();
  for (const d of decisions) if (d.nextModel === null) exhausted.set(d.worker ?? "unknown", [...(exhausted.get(d.worker ?? "unknown") ?? []), d]);
  for (const chain of configuredChains(obs)) {
    const allFailing = chain.models.every((m) => {
      const ds = byModel.get(modelKey(m));
      const last = turns.get(modelKey(m))?.lastTurnAt ?? null;
      return ds?.some((d) => last === null || d.ts > last);
    });
    if (allFailing && !exhausted.has(chain.name)) exhausted.set(chain.name, []);
    if (allFailing) exhausted.get(chain.name)!.push(...chain.models.flatMap((m) => byModel.get(modelKey(m)) ?? []));
  }
  for (const [worker, ds] of exhausted) {
    const models = [...new Set(ds.map((d) => d.originalModel))];
    findings.push({
      check: "fallback-rate",
      subject: `chain:${worker}`,
      severity: "critical",
      summary: `every model in ${worker}'s fallback chain failed: ${models.join(" → ")}`,
      component: `fallback chain ${worker}`,
      value: `${models.length} models failing`,
      threshold: "at least one working model",
      action: "Requests are failing outright: check provider status, API keys and quotas for every model in the chain",
      details: { worker, models, errors: [...new Set(ds.map((d) => d.errorType).filter(Boolean))] },
    });
  }

  const cfg = obs.openclaw.config;
  for (const s of obs.sessions) {
    if (!agentOf(s.platform).capabilities.ownFailover || !s.present) continue;
    const m = modelMismatch(s, cfg && s.agentId ? configuredModel(cfg, s.agentId) : (cfg?.primaryModel ?? null));
    if (!m) continue;
    findings.push({
      check: "fallback-rate",
      subject: `session:${s.uid}`,
      severity: c.severity,
      summary: `${s.agentId ?? s.platform} ${s.title ?? s.sessionKey ?? s.sessionId}: runs on ${m.active} instead of ${m.selected}${m.reason ? ` (${m.reason})` : ""}`,
      component: `session ${s.uid}`,
      value: `active ${m.active}`,
      threshold: `selected ${m.selected}`,
      action: m.reason
        ? `The selected model failed (${m.reason}): fix that provider, then switch the session back`
        : "Find out why the selected model is not used (logs), then switch the session back",
      details: { uid: s.uid, ...m },
    });
  }
  return findings;
}

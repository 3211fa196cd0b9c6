import { closedLabel } from "../../alerts/format.ts";
import { readable } from "../../alerts/readable.ts";
import { AlertLookupError } from "../../core/alert-ops.ts";
import { who } from "../../core/approvals.ts";
import { formatAge, formatDuration, formatTime } from "../../lib/present.ts";
import { textView, type View } from "../../messages/view.ts";
import type { AlertRecord } from "../../store/alerts.ts";
import { type Silence, silenceMatches } from "../../store/silences.ts";
import { type Command, reasonFrom, UsageError } from "./spec.ts";

const maxSilenceMs = 30 * 86_400_000;

/** "30m", "2h", "1d", "1h30m" → ms; at most 30 days. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?$/.exec(text.toLowerCase());
  if (!m || text.length === 0 || (!m[1] && !m[2] && !m[3])) throw new UsageError(`"${text.slice(0, 20)}" is not a duration like 30m, 2h, 1d or 1h30m`);
  const ms = Number(m[1] ?? 0) * 86_400_000 + Number(m[2] ?? 0) * 3_600_000 + Number(m[3] ?? 0) * 60_000;
  if (ms <= 0) throw new UsageError("the duration must be more than zero");
  if (ms > maxSilenceMs) throw new UsageError("silences last 30 days at most");
  return ms;
}

/** Lookup problems are bad input: answer with the reason and the usage. */
function lookup<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof AlertLookupError) throw new UsageError(err.message);
    throw err;
  }
}

const mark = { critical: "🔴 critical", warning: "🟠 warning", info: "info" } as const;

/**
 * One alert in a few short lines for a phone: number, severity and state; what it is about; its check and
 * fingerprint (what `/silence` takes) and who acknowledged it; and, when a silence mutes it, until when.
 */
export function alertLines(a: AlertRecord, now: number, silences: Silence[] = []): string[] {
  const state =
    a.status === "resolved"
      ? `${closedLabel(a)} ${formatAge(a.resolvedAt ?? now, now, "minute")}`
      : `${a.status} ${formatDuration(now - (a.firedAt ?? a.firstSeen), "minute")}`;
  const lines = [
    `#${a.id} ${mark[a.severity]} · ${state}`,
    `   ${readable(a.summary)}`,
    `   ${a.check} ${a.fingerprint.slice(0, 8)}${a.ackedBy ? ` · acked by ${a.ackedBy}` : ""}`,
  ];
  const silence = a.status === "resolved" ? undefined : silences.filter((x) => silenceMatches(x, a, now)).sort((x, y) => y.endsAt - x.endsAt)[0];
  if (silence) lines.push(`   🔕 silenced until ${formatTime(silence.endsAt)}`);
  return lines;
}

const silenceLine = (s: Silence) =>
  `silence ${s.id}: ${s.fingerprint ? `fingerprint ${s.fingerprint.slice(0, 8)}` : `${s.check}${s.subjectPattern ? `:${s.subjectPattern}` : ""}`} until ${formatTime(s.endsAt)} by ${s.createdBy}${s.reason ? ` (${s.reason})` : ""}`;

export const alertsCommand: Command = {
  name: "alerts",
  description: "Open alerts (or all recent ones) and active silences",
  usage: "/alerts [all] — e.g. /alerts all",
  options: [{ name: "scope", description: "all = recent alerts of any status", type: "string", choices: ["all"] }],
  run({ manager, now }, args) {
    if (args.length > 1 || (args[0] !== undefined && args[0].toLowerCase() !== "all")) throw new UsageError(`"${(args[0] ?? "").slice(0, 20)}" is not "all"`);
    const all = args.length === 1;
    const alerts = manager.alerts.list(all);
    const silences = manager.alerts.activeSilences(now);
    const sections: View["sections"] = [
      {
        lines: alerts.length
          ? alerts.flatMap((a) => alertLines(a, now, silences))
          : [all ? "No alerts yet." : "No open alerts. 🎉 (/alerts all shows recent ones)"],
      },
    ];
    if (silences.length) sections.push({ heading: "Active silences", lines: silences.map(silenceLine) });
    sections.push({ lines: ["/ack <number>, /silence <check[:subject-glob]|fingerprint> <duration> [reason], /unsilence <id>"] });
    return { title: all ? "Recent alerts" : `Open alerts (${alerts.length})`, sections };
  },
};

export const silenceCommand: Command = {
  name: "silence",
  description: "Mute alerts by fingerprint or check[:subject-pattern] for a while",
  usage: "/silence <fingerprint|check[:subject-pattern]> <duration> [reason] — e.g. /silence context:session:claude:* 2h deploying",
  options: [
    { name: "target", description: "Alert fingerprint, or check[:subject-glob]", type: "string", required: true },
    { name: "duration", description: "30m, 2h, 1d …", type: "string", required: true },
    { name: "reason", description: "Why", type: "string", rest: true },
  ],
  run({ manager, caller, now }, args) {
    const [spec, duration] = args;
    if (!spec || !duration) throw new UsageError("give what to silence and for how long");
    const ms = parseDuration(duration);
    const reason = reasonFrom(args.slice(2));
    const s = lookup(() => manager.alerts.silence(manager.alerts.silenceTarget(spec), ms, who(caller), reason, now));
    manager.rt.log.info({ audit: "silence.added", id: s.id, by: who(caller), until: s.endsAt }, "silence added");
    return textView(`Added ${silenceLine(s)}. End it early with /unsilence ${s.id}. ${reach(s, manager.alerts.list(false), now)}`);
  },
};

/** What a new silence mutes right now, so a pattern that matches nothing is noticed at once. */
function reach(s: Silence, open: AlertRecord[], now: number): string {
  const hit = open.filter((a) => silenceMatches(s, a, now)).length;
  if (hit) return `It mutes ${hit} open alert${hit === 1 ? "" : "s"} now.`;
  const example = open.find((a) => a.check === s.check)?.subject;
  return `It matches no open alert now${example ? ` (${s.check} subjects look like ${example})` : ""}.`;
}

export const unsilenceCommand: Command = {
  name: "unsilence",
  description: "End a silence now",
  usage: "/unsilence <id> — e.g. /unsilence 3",
  options: [{ name: "id", description: "Silence id (from /alerts)", type: "integer", required: true }],
  run({ manager, caller, now }, args) {
    if (args.length !== 1 || !/^\d{1,12}$/.test(args[0]!)) throw new UsageError("give the silence id shown by /alerts");
    const id = Number(args[0]);
    if (!manager.alerts.unsilence(id, now)) return textView(`Silence ${id} is not active (ended already, or no such silence).`, { private: true });
    manager.rt.log.info({ audit: "silence.ended", id, by: who(caller) }, "silence ended");
    return textView(`Silence ${id} ended.`);
  },
};

export const ackCommand: Command = {
  name: "ack",
  description: "Acknowledge an alert: no reminders until it resolves",
  usage: "/ack <alert-number|fingerprint> — e.g. /ack 12",
  options: [{ name: "alert", description: "Alert number or fingerprint", type: "string", required: true }],
  run({ manager, caller, now }, args) {
    if (args.length !== 1) throw new UsageError("give one alert");
    const alert = lookup(() => manager.alerts.find(args[0]!));
    const r = manager.alerts.ack(alert, who(caller), now);
    if (r.ok) manager.rt.log.info({ audit: "alert.acked", id: alert.id, by: who(caller) }, "alert acknowledged");
    return textView(r.message, r.ok ? {} : { private: true });
  },
};

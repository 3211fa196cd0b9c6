import { ConsoleTransport } from "../chat/console/transport.ts";
import type { DiscordOptions } from "../chat/discord/transport.ts";
import { CoreInbound } from "../chat/dispatch.ts";
import { hostTagged } from "../chat/host-tag.ts";
import type { TelegramTransportOptions } from "../chat/telegram/transport.ts";
import { reportDir } from "../config/sections/report.ts";
import { Manager, type ManagerOptions } from "../core/manager.ts";
import type { Transport, TransportName } from "../messages/transport.ts";
import { OutboxStore } from "../store/outbox.ts";
import type { Runtime } from "../store/runtime.ts";
import type { AsmMetrics } from "./metrics.ts";
import type { MetricsServer } from "./metrics-server.ts";
import { type Monitoring, startMonitoring } from "./monitor.ts";

/**
 * The long-running bot: transports + scheduled jobs. Monitoring starts at once; transports connect in
 * the background (`ready`). `stop()` finishes the current cycle first and waits a bounded time for each
 * transport.
 */
export interface Service {
  transports: Transport[];
  /** The core facade: commands, actions, and `handleProposedActions(findings)` for the scheduler. */
  manager: Manager;
  /** Scheduled jobs (scan + checks + alerts, logs, gateway, retention) and the outbox sender. */
  monitoring: Monitoring;
  /** The Prometheus endpoint, when `metrics.listen` is set (stopped first by `stop()`). */
  metrics: MetricsServer | null;
  /** Resolves once every transport's `start` has settled (they connect in the background; tests wait on it). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** Console streams (tests). */
  consoleIn?: NodeJS.ReadableStream & { isTTY?: boolean };
  consoleOut?: NodeJS.WritableStream;
  /** How restarts are verified (tests shorten the probe interval). */
  manager?: ManagerOptions;
  /** Run the first check cycle at start (default true). */
  monitorAtStart?: boolean;
  /** Discord transport settings beyond the config (tests shorten the defer deadline). */
  discord?: Partial<DiscordOptions>;
  /** Telegram transport settings beyond the config (tests shorten the long poll). */
  telegram?: Partial<TelegramTransportOptions>;
  /** The metrics bearer token (default: ASM_METRICS_TOKEN from the environment). */
  metricsToken?: string | null;
  /** How long `stop()` waits for each transport (default 5 s): a hung request must not hold up the exit. */
  stopTransportsWithinMs?: number;
}

/** The chat transports this configuration asks for, by name: the console when no chat token is set. */
export function transportNames(rt: Runtime): TransportName[] {
  const names: TransportName[] = [];
  if (rt.secrets.telegramBotToken) names.push("telegram");
  if (rt.secrets.discordToken) names.push("discord");
  return names.length > 0 ? names : ["console"];
}

/**
 * Builds the transports `transportNames` lists. A chat library is imported only when its token is set:
 * discord.js alone adds about 40 MiB to a process, and grammY about 20.
 */
export async function createTransports(rt: Runtime, options: ServiceOptions = {}): Promise<Transport[]> {
  const transports: Transport[] = [];
  for (const name of transportNames(rt)) {
    if (name === "telegram" && rt.secrets.telegramBotToken) {
      const { telegramTransport } = await import("../chat/telegram/transport.ts");
      transports.push(telegramTransport(rt, rt.secrets.telegramBotToken, options.telegram));
    } else if (name === "discord") {
      const { discordTransport } = await import("../chat/discord/transport.ts");
      transports.push(discordTransport(rt, options.discord));
    } else if (name === "console") {
      transports.push(
        new ConsoleTransport({ prompt: rt.config.console.prompt, in: options.consoleIn, out: options.consoleOut, imageDir: reportDir(rt.config) }),
      );
    }
  }
  // `host.name` set means several hosts may share a feed: their messages and topics carry the name.
  const host = rt.config.host.name;
  return host ? transports.map((t) => (t.name === "console" ? t : hostTagged(t, host))) : transports;
}

export async function startService(rt: Runtime, options: ServiceOptions = {}): Promise<Service> {
  const transports = await createTransports(rt, options);
  // The manager starts first: it finishes actions a previous run left approved before any button arrives.
  const manager = new Manager(rt, options.manager);
  manager.start();
  manager.feed.attach(transports);
  // Worker results and notices are outbox rows from the start (workers recovered below may post); the sender,
  // started with monitoring, delivers them and retries them as it does alerts.
  let kickSender = () => {};
  manager.feed.attachOutbox(new OutboxStore(rt.db), () => kickSender());
  const inbound = new CoreInbound(manager);
  // Transports connect in the background: a chat API that hangs or answers 5xx must not hold up
  // monitoring. Until one works its alerts wait in the outbox; its problem is reported by the self check.
  const ready = Promise.all(
    transports.map(async (t) => {
      try {
        await t.start(inbound);
        rt.log.info({ transport: t.name }, "transport started");
      } catch (err) {
        rt.log.error({ err, transport: t.name }, "transport did not start; alerts for it wait in the outbox");
      }
    }),
  ).then(() => undefined);
  manager.startWorkers();
  // Monitoring starts at once and stops before the transports; the sender retries a transport not ready yet.
  // prom-client and the price catalog (about 28 MiB together) are loaded only when metrics are asked for.
  const metrics = rt.config.metrics.listen
    ? new (await import("./metrics.ts")).AsmMetrics({ config: rt.config, db: rt.db, health: () => manager.health() })
    : null;
  const monitoring = startMonitoring(rt, {
    transports,
    onFindings: (findings) => manager.handleProposedActions(findings),
    ...(metrics ? { onCycle: (report) => metrics.observeCycle(report) } : {}),
    runAtStart: options.monitorAtStart ?? true,
  });
  kickSender = () => monitoring.sender.kick();
  const endpoint = metrics ? await startEndpoint(rt, metrics, manager, options) : null;
  // Rows that waited for a transport still connecting go out as soon as it is up.
  void ready.then(() => monitoring.sender.kick());
  const stopWithin = options.stopTransportsWithinMs ?? 5_000;
  return {
    transports,
    manager,
    monitoring,
    metrics: endpoint,
    ready,
    async stop() {
      await endpoint?.close();
      await monitoring.stop();
      // Before the transports: a running action ends (its verification cut short) and its approval
      // message can still be edited with the outcome.
      await manager.stop();
      // A transport stuck in a hung request is not waited for longer than `stopWithin`.
      await Promise.all(
        transports.map(async (t) => {
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<"late">((resolve) => {
            timer = setTimeout(() => resolve("late"), stopWithin);
            timer.unref();
          });
          try {
            if ((await Promise.race([t.stop(), late])) === "late")
              rt.log.warn({ transport: t.name, waitedMs: stopWithin }, "transport did not stop in time; leaving it");
          } catch (err) {
            rt.log.warn({ err, transport: t.name }, "transport did not stop cleanly");
          } finally {
            clearTimeout(timer);
          }
        }),
      );
    },
  };
}

/** Serves the metrics; a port that cannot be bound is logged as an error and the bot runs on without them. */
async function startEndpoint(rt: Runtime, metrics: AsmMetrics, manager: Manager, options: ServiceOptions): Promise<MetricsServer | null> {
  const token = options.metricsToken !== undefined ? options.metricsToken : process.env.ASM_METRICS_TOKEN?.trim() || null;
  try {
    const { serveMetrics } = await import("./metrics-server.ts");
    return await serveMetrics(metrics, { listen: rt.config.metrics.listen!, token, health: () => manager.health(), log: rt.log });
  } catch (err) {
    rt.log.error({ err, listen: rt.config.metrics.listen }, "metrics endpoint could not start");
    return null;
  }
}

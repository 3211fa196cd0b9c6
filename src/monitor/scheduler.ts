import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../lib/log.ts";
import type { Finding } from "../messages/finding.ts";

/** A recurring job: every N seconds, or at a cron expression (seconds field first). */
export interface Job {
  name: string;
  everySeconds?: number;
  cron?: string;
  run(now: number): Promise<unknown> | unknown;
}

/** A job whose latest run threw; cleared when it next succeeds. */
export interface JobFailure {
  job: string;
  error: string;
  at: number;
  /** Failed runs in a row. */
  count: number;
}

/** What one trigger of a job did. */
export type RunOutcome = "ran" | "skipped" | "failed";

export interface SchedulerOptions {
  jobs: Job[];
  log: Logger;
  /** Called after a job fails or recovers, with every job currently failing (raise/resolve `self` findings here). */
  onFailuresChanged?(failures: JobFailure[]): void | Promise<void>;
  now?: () => number;
}

/** A schedule that cannot be expressed. */
export class ScheduleError extends Error {
  constructor(
    readonly job: string,
    message: string,
  ) {
    super(`job ${job}: ${message}`);
    this.name = "ScheduleError";
  }
}

/**
 * How late (ms) a trigger may fire and still run: half the job's interval. node-cron's default (1 s) drops a
 * scan whose timer fired 2 s late on a busy machine, and the cycle then waits a whole interval.
 */
export const lateRunTolerance = (job: Pick<Job, "everySeconds">): number => (job.everySeconds ? job.everySeconds * 500 : 30_000);

/** At most one "skipped" line per job this often (ms); the line counts the runs skipped since the last. */
const missedLogEveryMs = 10 * 60_000;

/** Every N seconds as a node-cron expression, or null when cron cannot say it evenly (then a timer is used). */
export function everyToCron(seconds: number): string | null {
  if (!Number.isInteger(seconds) || seconds <= 0) return null;
  if (seconds < 60) return 60 % seconds === 0 ? `*/${seconds} * * * * *` : null;
  if (seconds % 60 !== 0) return null;
  const minutes = seconds / 60;
  if (minutes < 60) return 60 % minutes === 0 ? `0 */${minutes} * * * *` : null;
  if (minutes % 60 !== 0) return null;
  const hours = minutes / 60;
  if (hours < 24) return 24 % hours === 0 ? `0 0 */${hours} * * *` : null;
  return hours === 24 ? "0 0 0 * * *" : null;
}

/** The `self` findings for failing jobs (subject `self:job:<name>`), fed to the alert lifecycle. */
export function jobFailureFindings(failures: JobFailure[]): Finding[] {
  return failures.map((f) => ({
    check: "self",
    subject: `self:job:${f.job}`,
    severity: "warning",
    summary: `scheduled job "${f.job}" failed: ${f.error}`,
    component: "asm scheduler",
    value: `${f.count} failed run${f.count === 1 ? "" : "s"} in a row`,
    threshold: "no failures",
    action: "See asm's log for the stack trace; the job runs again on schedule and this resolves when it succeeds",
    details: { job: f.job, since: f.at },
  }));
}

/**
 * Runs jobs on node-cron schedules. A job never overlaps itself (a trigger while it runs is
 * skipped and logged), a job that throws is logged and reported through `onFailuresChanged` and
 * never reaches the process, and `stop()` waits for running jobs to finish.
 */
export class Scheduler {
  private readonly running = new Map<string, Promise<RunOutcome>>();
  private readonly failures = new Map<string, JobFailure>();
  private readonly tasks: ScheduledTask[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  private stopped = false;
  /** Per job: runs skipped since the last log line about them, and when that line was written. */
  private readonly missed = new Map<string, { count: number; loggedAt: number }>();

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
    for (const job of options.jobs) {
      if (job.cron === undefined && job.everySeconds === undefined) throw new ScheduleError(job.name, "needs everySeconds or cron");
      if (job.cron !== undefined && !cron.validate(job.cron)) throw new ScheduleError(job.name, `invalid cron expression "${job.cron}"`);
    }
  }

  /** Starts every schedule. The first runs happen on the schedule, not at once (use `runNow`). */
  start(): void {
    const { log } = this.options;
    const cronLogger = {
      info: (m: string) => log.debug({ source: "node-cron" }, m),
      warn: (m: string) => log.warn({ source: "node-cron" }, m),
      error: (m: string | Error) => log.error({ source: "node-cron", err: m }, "node-cron error"),
      debug: (m: string | Error) => log.debug({ source: "node-cron" }, String(m)),
    };
    for (const job of this.options.jobs) {
      const expression = job.cron ?? everyToCron(job.everySeconds!);
      if (expression) {
        const task = cron.schedule(expression, () => this.runNow(job.name), {
          name: job.name,
          logger: cronLogger,
          missedExecutionTolerance: lateRunTolerance(job),
        });
        // Listening replaces node-cron's own "missed execution … Possible blocking IO" line with ours.
        task.on("execution:missed", (ctx) => this.onMissed(job, ctx.date));
        this.tasks.push(task);
      } else {
        // node-cron cannot say "every 45 s" evenly; a plain timer can, with the same guard.
        log.info({ job: job.name, everySeconds: job.everySeconds }, "interval not expressible as cron; using a timer");
        this.timers.push(setInterval(() => void this.runNow(job.name), job.everySeconds! * 1000));
      }
    }
    log.info({ jobs: this.options.jobs.map((j) => ({ name: j.name, every: j.everySeconds ?? j.cron })) }, "scheduler started");
  }

  /** Runs a job now unless it is already running. Never throws. */
  runNow(name: string): Promise<RunOutcome> {
    const job = this.options.jobs.find((j) => j.name === name);
    if (!job) return Promise.reject(new ScheduleError(name, "no such job"));
    if (this.stopped) return Promise.resolve("skipped");
    if (this.running.has(name)) {
      this.options.log.warn({ job: name }, "job still running from the previous trigger; skipping this one");
      return Promise.resolve("skipped");
    }
    const run = this.execute(job).finally(() => this.running.delete(name));
    this.running.set(name, run);
    return run;
  }

  /** Jobs whose latest run failed. */
  currentFailures(): JobFailure[] {
    return [...this.failures.values()];
  }

  /** Is the job running right now? */
  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  /** Stops all schedules and waits for running jobs to finish (SIGINT/SIGTERM). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const task of this.tasks.splice(0)) await task.destroy();
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.allSettled([...this.running.values()]);
  }

  private async execute(job: Job): Promise<RunOutcome> {
    const { log } = this.options;
    const started = this.now();
    try {
      await job.run(started);
      log.debug({ job: job.name, ms: this.now() - started }, "job done");
      if (this.failures.delete(job.name)) {
        log.info({ job: job.name }, "job recovered");
        await this.report();
      }
      return "ran";
    } catch (err) {
      const prev = this.failures.get(job.name);
      const error = err instanceof Error ? err.message : String(err);
      this.failures.set(job.name, { job: job.name, error, at: prev?.at ?? started, count: (prev?.count ?? 0) + 1 });
      log.error({ err, job: job.name }, "scheduled job failed");
      await this.report();
      return "failed";
    }
  }

  /** A trigger that came later than the tolerance: it is skipped (the next one runs); said in our words, not every time. */
  private onMissed(job: Job, due: Date): void {
    const now = this.now();
    const m = this.missed.get(job.name) ?? { count: 0, loggedAt: 0 };
    m.count++;
    this.missed.set(job.name, m);
    if (now - m.loggedAt < missedLogEveryMs) return;
    this.options.log.warn(
      { job: job.name, due: due.toISOString(), skipped: m.count },
      `the machine was too busy to start "${job.name}" on time (over ${lateRunTolerance(job) / 1000} s late); ${m.count === 1 ? "that run was" : `${m.count} runs were`} skipped and it runs at the next trigger`,
    );
    m.count = 0;
    m.loggedAt = now;
  }

  private async report(): Promise<void> {
    try {
      await this.options.onFailuresChanged?.(this.currentFailures());
    } catch (err) {
      this.options.log.error({ err }, "could not report job failures");
    }
  }
}

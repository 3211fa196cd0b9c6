import { parseAlertButton } from "../alerts/format.ts";
import { ActionRefused } from "../core/actions.ts";
import { AlertLookupError } from "../core/alert-ops.ts";
import { rememberAdminChat, who } from "../core/approvals.ts";
import type { Manager } from "../core/manager.ts";
import type { ButtonOutcome, Caller, Inbound, MessageRef, ThreadPlace } from "../messages/transport.ts";
import { textView, type View, viewToText } from "../messages/view.ts";
import { RunnerError } from "../runner/runner.ts";
import { runCommand } from "./commands.ts";
import { PageCache, parsePageData } from "./paginate.ts";
import { refusalText } from "./refusal.ts";

/** `a:<id>:<nonce>:y|n|f` — approve, deny, or "Run anyway" (approve past the restart limit) an action. */
const approvalPattern = /^a:(\d{1,12}):([a-f0-9]{16}):([ynf])$/;
/** `rs:<sessionId>` — the "Reset session…" button of /session: the same as typing /reset_session <id>. */
const resetPattern = /^rs:([A-Za-z0-9._:-]{1,61})$/;
/** `wp:<id>:<nonce>:y|n` — allow or deny a worker's permission prompt; `ws:` the same for a spawn request. */
const workerRequestPattern = /^w([ps]):(\d{1,12}):([a-f0-9]{12}):([yn])$/;
/** `wq:<id>:<nonce>:<n>` — option n of a worker's question. */
const workerQuestionPattern = /^wq:(\d{1,12}):([a-f0-9]{12}):(\d{1,2})$/;
/** `wk:r|o:<worker>` — Resume / Show output under a worker's result. */
const workerButtonPattern = /^wk:([ro]):(w\d{1,9})$/;
const actionKeyPattern = /^action:(\d{1,12})$/;
const maxToast = 200;

/**
 * The core side of every transport: commands run through `runCommand` and are paginated for the
 * caller's platform; buttons approve/deny actions, turn pages, or stand for a command. Every button
 * is client-supplied input: it is parsed strictly and looked up server-side.
 */
export class CoreInbound implements Inbound {
  constructor(
    private readonly manager: Manager,
    private readonly pages = new PageCache(),
  ) {}

  async command(caller: Caller, name: string, args: string[]) {
    rememberAdminChat(this.manager.rt.kv, caller);
    const view = await runCommand({ rt: this.manager.rt, manager: this.manager, caller, now: Date.now() }, name, args);
    return this.pages.paginate(view, caller.transport);
  }

  async button(caller: Caller, data: string, message: MessageRef | null): Promise<ButtonOutcome> {
    const outcome = await this.press(caller, data, message);
    // Telegram shows at most 200 characters in a callback answer.
    if (outcome.toast && outcome.toast.length > maxToast) outcome.toast = `${outcome.toast.slice(0, maxToast - 1)}…`;
    return outcome;
  }

  private async press(caller: Caller, data: string, message: MessageRef | null): Promise<ButtonOutcome> {
    const log = this.manager.rt.log;
    if (!caller.allowed) {
      log.warn({ audit: "button.refused", transport: caller.transport, userId: caller.userId }, "button from a user not in the allow list");
      return { toast: "You are not allowed to use this bot." };
    }
    const approval = approvalPattern.exec(data);
    if (approval) {
      const d = await this.manager.actions.decide(caller, Number(approval[1]), approval[2]!, approval[3] !== "n", message, approval[3] === "f");
      return { toast: d.toast, ...(d.view ? { edit: d.view } : {}) };
    }
    const wr = workerRequestPattern.exec(data);
    if (wr) {
      const d = await this.manager.workers.decide(caller, Number(wr[2]), wr[3]!, wr[4] === "y", message);
      return { toast: d.toast, ...(d.view ? { edit: d.view } : {}) };
    }
    const wq = workerQuestionPattern.exec(data);
    if (wq) {
      const d = await this.manager.workers.choose(caller, Number(wq[1]), wq[2]!, Number(wq[3]), message);
      return { toast: d.toast, ...(d.view ? { edit: d.view } : {}) };
    }
    const wk = workerButtonPattern.exec(data);
    if (wk) return { reply: await this.command(caller, wk[1] === "r" ? "resume" : "worker", [wk[2]!, ...(wk[1] === "o" ? ["output"] : [])]) };
    const page = parsePageData(data);
    if (page) {
      const view = this.pages.page(page.token, page.page);
      return view ? { edit: view } : { toast: "This list has expired; run the command again." };
    }
    const alert = parseAlertButton(data);
    if (alert) return this.alertButton(caller, alert);
    const reset = resetPattern.exec(data);
    if (reset) return { reply: await this.command(caller, "reset_session", [reset[1]!]) };
    log.info({ transport: caller.transport, userId: caller.userId, data: data.slice(0, 64) }, "unknown button");
    return { toast: "This button is no longer active." };
  }

  /** Ack, Silence 1h/24h and "Request …" on alert messages. */
  private async alertButton(caller: Caller, b: NonNullable<ReturnType<typeof parseAlertButton>>): Promise<ButtonOutcome> {
    const m = this.manager;
    const now = Date.now();
    try {
      if (b.kind === "request") {
        const action = m.requestForAlert(b.alertId, who(caller));
        const answer = await m.actions.announce(action, caller);
        return answer.buttons?.length ? { reply: answer } : { toast: viewToText(answer) };
      }
      const a = m.alerts.get(b.alertId);
      if (!a) return { toast: `No alert #${b.alertId}.` };
      if (b.kind === "memory" || b.kind === "continue") {
        const uid = a.report.details?.uid;
        const s = typeof uid === "string" ? m.rt.sessions.get(uid) : undefined;
        if (!s) return { toast: "That session is no longer in the store." };
        // "Save memory" is /handover on the session (admins; it shows the file and how to continue).
        if (b.kind === "memory") return { reply: await this.command(caller, "handover", [s.uid]) };
        if (!caller.allowed) return { toast: "You are not allowed to use this bot." };
        const r = await m.workers.continueSession(caller, s);
        if (r.worker) {
          m.rt.log.info({ audit: "worker.continue", by: who(caller), session: s.uid, worker: r.worker.id }, "session continued as a worker");
          return { reply: textView(`Started ${r.worker.id}: continues ${s.platform} ${s.sessionId.slice(0, 12)} with its memory.`) };
        }
        return { toast: `Asked the admins to approve (request #${r.requestId}).` };
      }
      if (b.kind === "ack") {
        const r = m.alerts.ack(a, who(caller), now);
        if (r.ok) m.rt.log.info({ audit: "alert.acked", id: a.id, by: who(caller) }, "alert acknowledged");
        return { toast: r.message };
      }
      const s = m.alerts.silence({ fingerprint: a.fingerprint }, b.durationMs, who(caller), null, now);
      m.rt.log.info({ audit: "silence.added", id: s.id, by: who(caller), until: s.endsAt }, "silence added");
      return { toast: `Silenced #${a.id} for ${b.label} (silence ${s.id}; /unsilence ${s.id} ends it).` };
    } catch (err) {
      if (err instanceof ActionRefused || err instanceof AlertLookupError || err instanceof RunnerError) return { toast: err.message };
      throw err;
    }
  }

  /**
   * Plain text in a worker's topic or thread: its next turn, as `/send <id> <text>`. Admins only; a stranger
   * gets the refusal, an allowed non-admin the admin note. Text in any other thread is not ours: silence.
   */
  async text(caller: Caller, text: string, where: ThreadPlace): Promise<View | null> {
    const workers = this.manager.workers;
    const id = workers.workerForThread({ transport: caller.transport, chatId: where.chatId, threadId: where.threadId });
    if (!id) return null;
    const log = this.manager.rt.log;
    if (!caller.allowed) {
      log.warn(
        { audit: "worker.send.refused", transport: caller.transport, userId: caller.userId, worker: id },
        "text in a worker thread from a user not allowed",
      );
      return textView(refusalText);
    }
    if (!caller.admin) return textView(`Only an admin can send ${id} its next turn.`);
    try {
      const r = workers.sendOrAnswer(caller, id, text.slice(0, 8000));
      if (r.answered) return textView(`↪ ${id}: sent as the answer to its question.`, { silent: true });
      log.info({ audit: "worker.send", by: who(caller), worker: id, via: "thread" }, "worker turn sent");
      return textView(`↪ ${id}: sent as its next turn.`, { silent: true });
    } catch (err) {
      if (err instanceof RunnerError) return textView(err.message);
      throw err;
    }
  }

  delivered(key: string, ref: MessageRef): void {
    const m = actionKeyPattern.exec(key);
    if (m) this.manager.actions.recordMessage(Number(m[1]), ref);
  }
}

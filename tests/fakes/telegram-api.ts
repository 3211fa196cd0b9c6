import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small Telegram Bot API server for tests: real HTTP on 127.0.0.1, the real URL shape
 * `/bot<token>/<method>`, the real `{ok, result}` / `{ok: false, error_code, description, parameters}`
 * envelope. It keeps chats, topics and sent messages, and enforces the rules that bite in
 * production: 64-byte callback data, 4096 characters after entity parsing, well-formed HTML,
 * "message is not modified", "message to edit not found", topics that must exist, callback queries
 * answered once, strings that must be well-formed UTF-16 (UTF-8 on the wire), one poller per token
 * (a second `getUpdates` ends the first with 409), topic creation only with the admin right, and
 * groups upgraded to supergroups. Faults (429 with `retry_after`, 5xx, slow answers, a revoked
 * token) on demand. `sendPhoto` takes a multipart upload (as grammY sends an `InputFile`): the photo must be a PNG or
 * JPEG within Telegram's dimension rules, the caption at most 1024 characters after entity parsing.
 */

export interface FakeUser {
  id: number;
  is_bot?: boolean;
  first_name: string;
  username?: string;
}

export interface FakeChat {
  id: number;
  type: "private" | "group" | "supergroup" | "channel";
  title?: string;
  first_name?: string;
  username?: string;
  is_forum?: boolean;
}

/** A request body: JSON from an untrusted client, checked field by field like the real API does. */
// biome-ignore lint/suspicious/noExplicitAny: request bodies are arbitrary JSON, validated per method
export type Payload = Record<string, any>;

/** One request as the server received it, with the status it answered. */
export interface RecordedCall {
  method: string;
  payload: Payload;
  status: number;
  at: number;
}

/** A message the bot sent, as the server holds it now. */
export interface StoredMessage {
  message_id: number;
  chat: FakeChat;
  date: number;
  /** The text after parsing (what a user reads). */
  text: string;
  /** The text as sent (HTML when parse_mode was HTML). */
  raw: string;
  parse_mode?: string;
  message_thread_id?: number;
  is_topic_message?: boolean;
  reply_markup?: { inline_keyboard: { text: string; callback_data?: string }[][] };
  disable_notification?: boolean;
  edits: number;
  /** A photo message: the uploaded file as received (`text` and `raw` then hold its caption). */
  photo?: UploadedFile & { width: number; height: number };
}

/** A file part of a multipart request. */
export interface UploadedFile {
  filename: string;
  type: string;
  bytes: Buffer;
}

/** An error answer to give instead of a real one. */
export interface Fault {
  status: number;
  description: string;
  retryAfter?: number;
}

interface Waiter {
  offset: number;
  limit: number;
  done: (updates: unknown[]) => void;
  /** Ends the poll with an error (another poller took over). */
  fail: (error: ApiError) => void;
}

interface CallbackQuery {
  id: string;
  answered: boolean;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}

const allowedTags = new Set(["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote"]);

/**
 * Parses Telegram HTML the way the Bot API does for our purposes: only the allowed tags, properly
 * nested and closed; `&` only as `&lt;` `&gt;` `&amp;` `&quot;` or a numeric reference; a bare `<` or
 * `>` is an error. Returns the plain text; throws the API's "can't parse entities" error.
 */
export function parseTelegramHtml(html: string): string {
  const stack: string[] = [];
  let text = "";
  let i = 0;
  const fail = (why: string) => {
    throw new ApiError(400, `Bad Request: can't parse entities: ${why} at byte offset ${Buffer.byteLength(html.slice(0, i))}`);
  };
  while (i < html.length) {
    const ch = html[i]!;
    if (ch === "<") {
      const end = html.indexOf(">", i);
      if (end < 0) fail("Unclosed start tag");
      const inner = html.slice(i + 1, end);
      const closing = inner.startsWith("/");
      const name = (closing ? inner.slice(1) : inner).split(/\s/)[0]!.toLowerCase();
      if (!allowedTags.has(name)) fail(`Unsupported ${closing ? "end" : "start"} tag "${name}"`);
      if (closing) {
        if (stack.pop() !== name) fail(`Unmatched end tag "${name}"`);
      } else {
        stack.push(name);
      }
      i = end + 1;
    } else if (ch === "&") {
      const m = /^&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});/.exec(html.slice(i, i + 12));
      if (!m) fail("Unsupported entity");
      const ref = m![1]!;
      text +=
        ref === "lt"
          ? "<"
          : ref === "gt"
            ? ">"
            : ref === "amp"
              ? "&"
              : ref === "quot"
                ? '"'
                : String.fromCodePoint(ref.startsWith("#x") ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1)));
      i += m![0].length;
    } else if (ch === ">") {
      fail('Character ">" is reserved');
    } else {
      text += ch;
      i++;
    }
  }
  if (stack.length) fail(`Can't find end tag corresponding to start tag "${stack[stack.length - 1]}"`);
  return text;
}

export interface FakeTelegramOptions {
  token?: string;
  botUsername?: string;
  /** Hold an empty `getUpdates` at most this long, whatever `timeout` asks (keeps tests quick). */
  maxPollMs?: number;
  /** Listen on this port (default: a free one). */
  port?: number;
  /**
   * Serve only these methods; any other answers 404 "Not Found", as the real server does for a method it
   * does not know. Default: every method the fake implements.
   */
  methods?: readonly string[];
  /** sendMessage answers only `message_id`, `date` and `text` (a minimal server's Message, no `chat`). */
  leanMessages?: boolean;
}

/** The methods the Telegram issue lists for a Bot API fake: no deleteWebhook, no getChat. */
export const minimalMethods = [
  "getMe",
  "getUpdates",
  "sendMessage",
  "editMessageText",
  "editMessageReplyMarkup",
  "answerCallbackQuery",
  "setMyCommands",
  "createForumTopic",
] as const;

export class FakeTelegramApi {
  readonly token: string;
  readonly me: FakeUser & { can_join_groups: boolean; can_read_all_group_messages: boolean; supports_inline_queries: boolean };
  readonly calls: RecordedCall[] = [];
  readonly chats = new Map<number, FakeChat>();
  /** Forum topics per chat id. */
  readonly topics = new Map<number, Map<number, string>>();
  readonly messages = new Map<string, StoredMessage>();
  /** setMyCommands, by JSON of the scope. */
  readonly commands = new Map<string, { command: string; description: string }[]>();
  private readonly updates: { update_id: number }[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly delays = new Map<string, number[]>();
  /** Per method: answers held this long after the call was processed, and how many more calls (Infinity = all). */
  private readonly lateAnswers = new Map<string, { ms: number; left: number }>();
  private readonly callbackQueries = new Map<string, CallbackQuery>();
  private readonly callListeners = new Set<(call: RecordedCall) => void>();
  private nextUpdateId = 1000;
  private nextMessageId = 1;
  private nextTopicId = 100;
  private nextQueryId = 1;
  private revoked = false;
  private closed = false;
  /** Chats where the bot is not an admin with the "manage topics" right. */
  private readonly noTopicRights = new Set<number>();
  /** Basic groups upgraded to supergroups: old id → new id. */
  private readonly migrated = new Map<number, number>();
  /** Set by `setWebhook` (someone else's deployment); getUpdates is refused until deleteWebhook. */
  private webhookUrl: string | null = null;
  /** Chats the bot was removed from (kicked, or left/blocked). */
  private readonly removed = new Map<number, "kicked" | "left">();

  private constructor(
    private readonly server: Server,
    readonly apiRoot: string,
    options: FakeTelegramOptions,
  ) {
    this.token = options.token ?? "123456:TEST-token-abcdefghijklmnopqrstuv";
    this.me = {
      id: Number(this.token.split(":")[0]),
      is_bot: true,
      first_name: "asm test bot",
      username: options.botUsername ?? "asm_test_bot",
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    };
    this.maxPollMs = options.maxPollMs ?? 10_000;
    this.served = options.methods ? new Set(options.methods) : null;
    this.leanMessages = options.leanMessages ?? false;
  }

  private readonly leanMessages: boolean;

  /** Null: every method this fake implements. */
  private readonly served: Set<string> | null;

  private readonly maxPollMs: number;

  /** Starts a server on 127.0.0.1 (a free port). */
  static async start(options: FakeTelegramOptions = {}): Promise<FakeTelegramApi> {
    let fake: FakeTelegramApi | null = null;
    const server = createServer((req, res) => {
      void fake!.handle(req, res);
    });
    server.listen(options.port ?? 0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    fake = new FakeTelegramApi(server, `http://127.0.0.1:${port}`, options);
    return fake;
  }

  /** Stops the server; pending long polls return at once. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters) w.done([]);
    this.waiters.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  // ── test controls ───────────────────────────────────────────────────────────────────────────

  addChat(chat: FakeChat): FakeChat {
    this.chats.set(chat.id, chat);
    return chat;
  }

  /** A forum topic that already exists (e.g. one the user made). */
  addTopic(chatId: number, topicId: number, name = "topic"): void {
    const topics = this.topics.get(chatId) ?? new Map<number, string>();
    topics.set(topicId, name);
    this.topics.set(chatId, topics);
  }

  /** The bot loses (or never had) the "manage topics" admin right in `chatId`: createForumTopic is refused. */
  denyTopicRights(chatId: number): void {
    this.noTopicRights.add(chatId);
  }

  /**
   * A basic group becomes a supergroup (as when Topics are turned on): it gets a new id, and sends
   * to the old id are refused with `migrate_to_chat_id`, as the real API does.
   */
  migrateChat(oldId: number, to: FakeChat): FakeChat {
    this.migrated.set(oldId, to.id);
    return this.addChat(to);
  }

  /**
   * The bot is removed from a chat (kicked/banned, or it left; in a private chat: the user blocked
   * it). Every call naming the chat answers 403 with the real description, until `restoreBot`.
   */
  removeBot(chatId: number, how: "kicked" | "left" = "kicked"): void {
    this.removed.set(chatId, how);
  }

  /** Another deployment registers a webhook for the token: polling fails with 409 until deleteWebhook. */
  setWebhook(url: string): void {
    this.webhookUrl = url;
  }

  /** The bot was added back to the chat. */
  restoreBot(chatId: number): void {
    this.removed.delete(chatId);
  }

  /** Queues a raw update (its update_id is assigned here). */
  pushUpdate(update: Record<string, unknown>): number {
    const full = { ...update, update_id: this.nextUpdateId++ };
    this.updates.push(full);
    for (const w of [...this.waiters]) {
      const ready = this.pending(w.offset, w.limit);
      if (ready.length) {
        this.waiters.delete(w);
        w.done(ready);
      }
    }
    return full.update_id;
  }

  /** A user types `text` in `chat` (their private chat by default; `threadId` = inside a forum topic). */
  userMessage(user: FakeUser, text: string, where: { chat?: FakeChat; threadId?: number; senderChat?: FakeChat } = {}): { message_id: number; chat: FakeChat } {
    const chat = where.chat ?? this.addChat({ id: user.id, type: "private", first_name: user.first_name });
    const message_id = this.nextMessageId++;
    const command = /^\/[A-Za-z0-9_@]+/.exec(text);
    this.pushUpdate({
      message: {
        message_id,
        date: Math.floor(Date.now() / 1000),
        chat,
        from: { is_bot: false, ...user },
        text,
        ...(where.senderChat ? { sender_chat: where.senderChat } : {}),
        ...(where.threadId ? { message_thread_id: where.threadId, is_topic_message: true } : {}),
        ...(command ? { entities: [{ type: "bot_command", offset: 0, length: command[0].length }] } : {}),
      },
    });
    return { message_id, chat };
  }

  /** A user presses a button on a message the bot sent; returns the callback query id. */
  pressButton(user: FakeUser, message: StoredMessage, data: string, how: { inaccessible?: boolean } = {}): string {
    const id = `cq${this.nextQueryId++}`;
    this.callbackQueries.set(id, { id, answered: false });
    // A message the bot can no longer see (deleted, too old) arrives as an InaccessibleMessage:
    // only the chat, the id and date 0.
    const shown = how.inaccessible
      ? { chat: message.chat, message_id: message.message_id, date: 0 }
      : {
          message_id: message.message_id,
          date: message.date,
          chat: message.chat,
          from: { ...this.me },
          text: message.text,
          ...(message.message_thread_id ? { message_thread_id: message.message_thread_id, is_topic_message: true } : {}),
          ...(message.reply_markup ? { reply_markup: message.reply_markup } : {}),
        };
    this.pushUpdate({
      callback_query: { id, from: { is_bot: false, ...user }, chat_instance: `ci${message.chat.id}`, data, message: shown },
    });
    return id;
  }

  /** Someone deleted a message the bot sent: edits of it fail with "message to edit not found". */
  deleteMessage(message: StoredMessage): void {
    this.messages.delete(`${message.chat.id}:${message.message_id}`);
  }

  /** The next `times` calls of `method` answer with this error instead. */
  fail(method: string, fault: Fault, times = 1): void {
    const list = this.faults.get(method) ?? [];
    for (let i = 0; i < times; i++) list.push(fault);
    this.faults.set(method, list);
  }

  /** The next `times` calls of `method` wait `ms` before answering. */
  slow(method: string, ms: number, times = 1): void {
    const list = this.delays.get(method) ?? [];
    for (let i = 0; i < times; i++) list.push(ms);
    this.delays.set(method, list);
  }

  /**
   * The next `times` calls of `method` (Infinity: every one) are processed at once (the message is posted)
   * but answered only `ms` later: a slow platform that accepted the request, seen by a client that may time out.
   */
  answerLate(method: string, ms: number, times = 1): void {
    this.lateAnswers.set(method, { ms, left: times });
  }

  /** From now on every call answers 401 Unauthorized, as after the token was revoked in BotFather. */
  revokeToken(): void {
    this.revoked = true;
    for (const w of this.waiters) w.done([]);
    this.waiters.clear();
  }

  /** Successful calls of `method`, in order. */
  ok(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && c.status === 200);
  }

  /** Messages the bot sent into a chat, in order. */
  messagesIn(chatId: number): StoredMessage[] {
    return [...this.messages.values()].filter((m) => m.chat.id === chatId).sort((a, b) => a.message_id - b.message_id);
  }

  /** Resolves with the first call (past or future) of `method` that matches, rejects after `ms`. */
  waitForCall(method: string, match: (call: RecordedCall) => boolean = () => true, ms = 10_000): Promise<RecordedCall> {
    const seen = this.calls.find((c) => c.method === method && match(c));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.callListeners.delete(listener);
        reject(new Error(`no ${method} call matched within ${ms} ms; calls: ${this.calls.map((c) => c.method).join(", ")}`));
      }, ms);
      const listener = (call: RecordedCall) => {
        if (call.method === method && match(call)) {
          clearTimeout(timer);
          this.callListeners.delete(listener);
          resolve(call);
        }
      };
      this.callListeners.add(listener);
    });
  }

  /** Waits until `n` successful calls of `method` happened. */
  async waitForCount(method: string, n: number, ms = 10_000): Promise<RecordedCall[]> {
    const until = Date.now() + ms;
    while (this.ok(method).length < n) {
      if (Date.now() > until) throw new Error(`only ${this.ok(method).length} of ${n} ${method} calls within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.ok(method);
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────────────────────

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.apiRoot);
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const body = await readBody(req);
    let payload: Payload = Object.fromEntries(url.searchParams);
    const files = new Map<string, UploadedFile>();
    const contentType = req.headers["content-type"] ?? "";
    if (body.length && contentType.startsWith("multipart/form-data")) {
      // An upload: string fields join the payload, file parts are kept aside by field name ("attach://<name>" points at them).
      const parts = parseMultipart(body, contentType);
      if (!parts) return this.answer(res, "?", payload, new ApiError(400, "Bad Request: invalid multipart body"));
      for (const part of parts) {
        if (part.filename === undefined) payload[part.name] = part.body.toString("utf8");
        else files.set(part.name, { filename: part.filename, type: part.type ?? "application/octet-stream", bytes: part.body });
      }
    } else if (body.length) {
      try {
        payload = { ...payload, ...JSON.parse(body.toString("utf8")) };
      } catch {
        return this.answer(res, "?", payload, new ApiError(400, "Bad Request: invalid JSON body"));
      }
    }
    if (!match) return this.answer(res, "?", payload, new ApiError(404, "Not Found"));
    const [, token, rawMethod] = match;
    // Method names are case-insensitive in the Bot API.
    const method = methodNames.get(rawMethod!.toLowerCase()) ?? rawMethod!;
    const delay = this.delays.get(method)?.shift();
    if (delay) await new Promise((r) => setTimeout(r, delay));
    // A string that is not shaped like a token (a pasted "bot" prefix, a cut-off copy) is not even
    // looked up: the real server answers 404 Not Found; a well-formed but unknown one gets 401.
    if (!/^\d+:[A-Za-z0-9_-]+$/.test(token!)) return this.answer(res, method, payload, new ApiError(404, "Not Found"));
    if (token !== this.token || this.revoked) return this.answer(res, method, payload, new ApiError(401, "Unauthorized"));
    // The Bot API rejects any string that is not valid UTF-8, such as a lone surrogate cut off an emoji.
    if (!wellFormed(payload)) return this.answer(res, method, payload, new ApiError(400, "Bad Request: strings must be encoded in UTF-8"));
    const fault = this.faults.get(method)?.shift();
    if (fault) {
      const parameters = fault.retryAfter !== undefined ? { retry_after: fault.retryAfter } : undefined;
      return this.answer(res, method, payload, new ApiError(fault.status, fault.description, parameters));
    }
    try {
      const result = await this.dispatch(method, payload, res, files);
      this.answer(res, method, payload, null, result);
    } catch (err) {
      this.answer(res, method, payload, err instanceof ApiError ? err : new ApiError(500, `Internal Server Error: ${err}`));
    }
  }

  private answer(res: ServerResponse, method: string, payload: Payload, error: ApiError | null, result?: unknown, held = false) {
    const late = held ? undefined : this.lateAnswers.get(method);
    if (late && late.left > 0) {
      late.left -= 1;
      setTimeout(() => this.answer(res, method, payload, error, result, true), late.ms);
      return;
    }
    const status = error ? error.status : 200;
    const call = { method, payload, status, at: Date.now() };
    this.calls.push(call);
    for (const listener of [...this.callListeners]) listener(call);
    const envelope = error
      ? {
          ok: false,
          error_code: error.status,
          description: error.description,
          ...(error.parameters ? { parameters: error.parameters } : {}),
        }
      : { ok: true, result };
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(envelope));
  }

  private dispatch(method: string, p: Payload, res: ServerResponse, files: Map<string, UploadedFile>): unknown {
    if (this.served && !this.served.has(method)) throw new ApiError(404, "Not Found");
    switch (method) {
      case "getMe":
        return this.me;
      case "deleteWebhook":
        this.webhookUrl = null;
        return true;
      case "getUpdates":
        return this.getUpdates(p, res);
      case "getChat":
        return this.getChat(p);
      case "sendMessage":
        return this.sendMessage(p);
      case "sendPhoto":
        return this.sendPhoto(p, files);
      case "editMessageText":
        return this.editMessageText(p);
      case "editMessageReplyMarkup":
        return this.editMessageReplyMarkup(p);
      case "answerCallbackQuery":
        return this.answerCallbackQuery(p);
      case "setMyCommands":
        return this.setMyCommands(p);
      case "createForumTopic":
        return this.createForumTopic(p);
      default:
        throw new ApiError(404, "Not Found");
    }
  }

  private pending(offset: number, limit: number): unknown[] {
    // Asking from `offset` confirms every earlier update, as in the real API.
    while (this.updates.length && this.updates[0]!.update_id < offset) this.updates.shift();
    return this.updates.slice(0, limit);
  }

  private getUpdates(p: Payload, res: ServerResponse): Promise<unknown[]> | unknown[] {
    if (this.webhookUrl) {
      throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    const offset = Number(p.offset ?? 0);
    const limit = Math.min(100, Math.max(1, Number(p.limit ?? 100)));
    const ready = this.pending(offset, limit);
    const timeoutMs = Math.min(Number(p.timeout ?? 0) * 1000, this.maxPollMs);
    // One poller per token: a new getUpdates ends a pending one, as the real server does.
    for (const other of [...this.waiters]) {
      this.waiters.delete(other);
      other.fail(new ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"));
    }
    if (ready.length || timeoutMs <= 0 || this.closed) return ready;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        offset,
        limit,
        done: (updates) => {
          clearTimeout(timer);
          resolve(updates);
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve([]);
      }, timeoutMs);
      // The client gave up (aborted the poll): forget it, or it would swallow the next update.
      res.once("close", () => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
      });
      this.waiters.add(waiter);
    });
  }

  private chat(id: unknown): FakeChat {
    const chat = this.chats.get(Number(id));
    if (!chat) throw new ApiError(400, "Bad Request: chat not found");
    const removed = this.removed.get(chat.id);
    if (removed) {
      if (chat.type === "private") throw new ApiError(403, "Forbidden: bot was blocked by the user");
      const kind = chat.type === "channel" ? "channel chat" : chat.type === "supergroup" ? "supergroup chat" : "group chat";
      throw new ApiError(403, removed === "kicked" ? `Forbidden: bot was kicked from the ${kind}` : `Forbidden: bot is not a member of the ${kind}`);
    }
    return chat;
  }

  private getChat(p: Payload) {
    const chat = this.chat(p.chat_id);
    return { ...chat, accent_color_id: 0, max_reaction_count: 11, accepted_gift_types: {} };
  }

  private checkText(text: unknown, parseMode: unknown): string {
    if (typeof text !== "string" || text.length === 0) throw new ApiError(400, "Bad Request: message text is empty");
    const plain = parseMode === "HTML" ? parseTelegramHtml(text) : text;
    if (plain.trim().length === 0) throw new ApiError(400, "Bad Request: message text is empty");
    if (plain.length > 4096) throw new ApiError(400, "Bad Request: message is too long");
    return plain;
  }

  private checkMarkup(markup: unknown): StoredMessage["reply_markup"] {
    if (markup === undefined) return undefined;
    const parsed = (typeof markup === "string" ? JSON.parse(markup) : markup) as StoredMessage["reply_markup"];
    for (const row of parsed?.inline_keyboard ?? []) {
      for (const button of row) {
        const data = button.callback_data;
        if (data !== undefined && (Buffer.byteLength(data, "utf8") < 1 || Buffer.byteLength(data, "utf8") > 64)) {
          throw new ApiError(400, "Bad Request: BUTTON_DATA_INVALID");
        }
        if (!button.text) throw new ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard");
      }
    }
    return parsed;
  }

  private sendMessage(p: Payload) {
    const chat = this.chat(p.chat_id);
    const upgraded = this.migrated.get(chat.id);
    if (upgraded !== undefined) {
      throw new ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat", { migrate_to_chat_id: upgraded });
    }
    const text = this.checkText(p.text, p.parse_mode);
    const thread = p.message_thread_id === undefined ? undefined : Number(p.message_thread_id);
    // Thread 1 is the General topic: the real API refuses it as a thread id.
    if (thread !== undefined && chat.is_forum && (thread === 1 || !this.topics.get(chat.id)?.has(thread))) {
      throw new ApiError(400, "Bad Request: message thread not found");
    }
    const reply_markup = this.checkMarkup(p.reply_markup);
    const message: StoredMessage = {
      message_id: this.nextMessageId++,
      chat,
      date: Math.floor(Date.now() / 1000),
      text,
      raw: p.text,
      parse_mode: p.parse_mode,
      ...(thread !== undefined ? { message_thread_id: thread, is_topic_message: Boolean(chat.is_forum) } : {}),
      ...(reply_markup ? { reply_markup } : {}),
      disable_notification: Boolean(p.disable_notification),
      edits: 0,
    };
    this.messages.set(`${chat.id}:${message.message_id}`, message);
    if (this.leanMessages) return { message_id: message.message_id, date: message.date, text: message.text };
    return this.asMessage(message);
  }

  /**
   * A photo upload with an optional caption. The file must be an uploaded PNG or JPEG (a `file_id` or URL is not
   * served here); its width + height at most 10000 and the ratio of its sides at most 20, as the real API requires.
   */
  private sendPhoto(p: Payload, files: Map<string, UploadedFile>) {
    const chat = this.chat(p.chat_id);
    const ref = typeof p.photo === "string" && p.photo.startsWith("attach://") ? p.photo.slice("attach://".length) : "photo";
    const file = files.get(ref);
    if (!file) throw new ApiError(400, "Bad Request: there is no photo in the request");
    const size = imageSize(file.bytes);
    if (!size) throw new ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED");
    if (size.width + size.height > 10_000 || Math.max(size.width, size.height) / Math.min(size.width, size.height) > 20) {
      throw new ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS");
    }
    const caption = p.caption === undefined ? "" : String(p.caption);
    const plain = caption && p.parse_mode === "HTML" ? parseTelegramHtml(caption) : caption;
    if (plain.length > 1024) throw new ApiError(400, "Bad Request: message caption is too long");
    const thread = p.message_thread_id === undefined ? undefined : Number(p.message_thread_id);
    if (thread !== undefined && chat.is_forum && (thread === 1 || !this.topics.get(chat.id)?.has(thread))) {
      throw new ApiError(400, "Bad Request: message thread not found");
    }
    const reply_markup = this.checkMarkup(p.reply_markup);
    const message: StoredMessage = {
      message_id: this.nextMessageId++,
      chat,
      date: Math.floor(Date.now() / 1000),
      text: plain,
      raw: caption,
      parse_mode: p.parse_mode,
      ...(thread !== undefined ? { message_thread_id: thread, is_topic_message: Boolean(chat.is_forum) } : {}),
      ...(reply_markup ? { reply_markup } : {}),
      disable_notification: p.disable_notification === true || p.disable_notification === "true",
      edits: 0,
      photo: { ...file, ...size },
    };
    this.messages.set(`${chat.id}:${message.message_id}`, message);
    return this.asMessage(message);
  }

  private asMessage(m: StoredMessage) {
    if (m.photo) {
      const { message_id, date, chat } = m;
      const photo = [
        { file_id: `photo${message_id}`, file_unique_id: `u${message_id}`, width: m.photo.width, height: m.photo.height, file_size: m.photo.bytes.length },
      ];
      return {
        message_id,
        date,
        chat,
        from: { ...this.me },
        photo,
        ...(m.text ? { caption: m.text } : {}),
        ...(m.message_thread_id !== undefined ? { message_thread_id: m.message_thread_id } : {}),
        ...(m.is_topic_message ? { is_topic_message: true } : {}),
        ...(m.reply_markup ? { reply_markup: m.reply_markup } : {}),
      };
    }
    return {
      message_id: m.message_id,
      date: m.date,
      chat: m.chat,
      from: { ...this.me },
      text: m.text,
      ...(m.message_thread_id !== undefined ? { message_thread_id: m.message_thread_id } : {}),
      ...(m.is_topic_message ? { is_topic_message: true } : {}),
      ...(m.reply_markup ? { reply_markup: m.reply_markup } : {}),
      ...(m.edits ? { edit_date: Math.floor(Date.now() / 1000) } : {}),
    };
  }

  private stored(p: Payload): StoredMessage {
    this.chat(p.chat_id);
    const message = this.messages.get(`${Number(p.chat_id)}:${Number(p.message_id)}`);
    if (!message) throw new ApiError(400, "Bad Request: message to edit not found");
    return message;
  }

  private editMessageText(p: Payload) {
    const message = this.stored(p);
    const text = this.checkText(p.text, p.parse_mode);
    // Omitting reply_markup removes the keyboard, as the real API does.
    const reply_markup = this.checkMarkup(p.reply_markup);
    if (p.text === message.raw && JSON.stringify(reply_markup) === JSON.stringify(message.reply_markup)) {
      throw new ApiError(
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      );
    }
    Object.assign(message, { text, raw: p.text, parse_mode: p.parse_mode, edits: message.edits + 1 });
    if (reply_markup) message.reply_markup = reply_markup;
    else delete message.reply_markup;
    return this.asMessage(message);
  }

  private editMessageReplyMarkup(p: Payload) {
    const message = this.stored(p);
    const reply_markup = this.checkMarkup(p.reply_markup);
    if (JSON.stringify(reply_markup) === JSON.stringify(message.reply_markup)) {
      throw new ApiError(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same");
    }
    if (reply_markup) message.reply_markup = reply_markup;
    else delete message.reply_markup;
    message.edits++;
    return this.asMessage(message);
  }

  private answerCallbackQuery(p: Payload) {
    const query = this.callbackQueries.get(String(p.callback_query_id));
    if (!query || query.answered) {
      throw new ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid");
    }
    if (typeof p.text === "string" && p.text.length > 200) throw new ApiError(400, "Bad Request: MESSAGE_TOO_LONG");
    query.answered = true;
    return true;
  }

  private setMyCommands(p: Payload) {
    const list = p.commands as { command: string; description: string }[];
    if (!Array.isArray(list) || list.length > 100) throw new ApiError(400, "Bad Request: commands must be a list of at most 100");
    for (const c of list) {
      if (!/^[a-z0-9_]{1,32}$/.test(c.command)) throw new ApiError(400, "Bad Request: BOT_COMMAND_INVALID");
      if (!c.description || c.description.length > 256) throw new ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
    }
    const scope = p.scope ?? { type: "default" };
    if (scope.chat_id !== undefined) this.chat(scope.chat_id);
    this.commands.set(JSON.stringify(scope), list);
    return true;
  }

  private createForumTopic(p: Payload) {
    const chat = this.chat(p.chat_id);
    if (!chat.is_forum) throw new ApiError(400, "Bad Request: the chat is not a forum");
    if (this.noTopicRights.has(chat.id)) throw new ApiError(400, "Bad Request: not enough rights to create a topic");
    const name = String(p.name ?? "");
    if (name.length < 1 || name.length > 128) throw new ApiError(400, "Bad Request: TOPIC_TITLE_EMPTY");
    const id = this.nextTopicId++;
    this.addTopic(chat.id, id, name);
    return { message_thread_id: id, name, icon_color: 7322096 };
  }
}

/** Every method this fake implements: the minimal set plus those a real server also has. */
const methodNames = new Map([...minimalMethods, "deleteWebhook", "getChat", "sendPhoto"].map((m) => [m.toLowerCase(), m]));

/**
 * Splits a multipart/form-data body into its parts. Written out rather than `Response.formData()`: grammY writes
 * `filename=a.png` without quotes, which the Bot API takes and undici's strict parser refuses.
 */
function parseMultipart(body: Buffer, contentType: string): { name: string; filename?: string; type?: string; body: Buffer }[] | null {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return null;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { name: string; filename?: string; type?: string; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") return parts;
    const next = body.indexOf(delimiter, start);
    if (next < 0) return null;
    const part = body.subarray(start + 2, next - 2); // past the CRLF after the delimiter, before the CRLF ahead of the next
    const split = part.indexOf("\r\n\r\n");
    if (split < 0) return null;
    const headers = part.subarray(0, split).toString("utf8");
    const disposition = /content-disposition:\s*form-data\s*;([^\r\n]*)/i.exec(headers)?.[1] ?? "";
    const param = (key: string) => new RegExp(`(?:^|;)\\s*${key}=(?:"([^"]*)"|([^;\\s]*))`, "i").exec(disposition);
    const name = param("name");
    if (!name) return null;
    const filename = param("filename");
    const type = /content-type:\s*([^\r\n;]+)/i.exec(headers)?.[1];
    parts.push({
      name: name[1] ?? name[2]!,
      ...(filename ? { filename: filename[1] ?? filename[2]! } : {}),
      ...(type ? { type: type.trim() } : {}),
      body: Buffer.from(part.subarray(split + 4)),
    });
    at = next;
  }
  return null;
}

/** The pixel size of a PNG (IHDR) or JPEG (first SOF marker), or null for anything else. */
function imageSize(bytes: Buffer): { width: number; height: number } | null {
  if (
    bytes.length >= 24 &&
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) &&
    bytes.toString("latin1", 12, 16) === "IHDR"
  ) {
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let i = 2; i + 9 < bytes.length; ) {
      if (bytes[i] !== 0xff) return null;
      const marker = bytes[i + 1]!;
      if (marker >= 0xc0 && marker <= 0xc3) return { width: bytes.readUInt16BE(i + 7), height: bytes.readUInt16BE(i + 5) };
      i += 2 + bytes.readUInt16BE(i + 2);
    }
  }
  return null;
}

/** True when every string in a JSON value is well-formed UTF-16 (no lone surrogates). */
function wellFormed(value: unknown): boolean {
  if (typeof value === "string") return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
  if (Array.isArray(value)) return value.every(wellFormed);
  if (value && typeof value === "object") return Object.entries(value).every(([k, v]) => wellFormed(k) && wellFormed(v));
  return true;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

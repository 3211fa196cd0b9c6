import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/** One REST request the bot made, as the fake saw it. */
export interface RecordedRequest {
  method: string;
  /** Path below `/api/v10`, e.g. `/channels/1/messages`. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  authorization: string | undefined;
  status: number;
}

/** A message the fake knows: posted to a channel, an interaction response or a follow-up. */
export interface FakeMessage {
  id: string;
  channel_id: string;
  content: string;
  embeds: Record<string, unknown>[];
  components: Record<string, unknown>[];
  flags: number;
  /** How many times it was edited. */
  edits: number;
  deleted: boolean;
  /** Posted to a channel, an interaction's response, or an interaction follow-up. */
  origin: "channel" | "response" | "followup";
  /** Interaction tokens whose `@original` is this message (responses and component updates). */
  tokens: string[];
  /** A deferred reply's "thinking…" placeholder that nothing has filled in yet. */
  loading?: boolean;
  /** Files uploaded with it (multipart `files[n]`), as received. */
  attachments: FakeAttachment[];
}

/** A file part of a multipart request, as Discord keeps it on the message. */
export interface FakeAttachment {
  id: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

/** Where a multipart request's files travel inside the parsed body (not a key Discord knows). */
const uploadsKey = "__uploads";

/** A canned failure for the next matching request(s). */
interface Planned {
  method: string;
  path: RegExp;
  times: number;
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** The request is carried out first and only its answer is lost (a 502 from the edge after the post landed). */
  afterProcessing?: boolean;
}

export interface FakeUser {
  id: string;
  username: string;
  roles?: string[];
}

export interface FakeDiscordOptions {
  token: string;
  applicationId?: string;
  /** Gateway heartbeat interval sent in HELLO (ms). */
  heartbeatIntervalMs?: number;
  /** Listen on this port (a test that starts Discord after the bot); default: any free port. */
  port?: number;
  /**
   * Guilds the bot is in. As on Discord, READY lists them as unavailable and a GUILD_CREATE
   * (roles including @everyone, the feed channel) follows for each. Default: the tests' guild.
   */
  guilds?: FakeGuild[];
  /** Serve PUT on the command routes but not GET (405), like a minimal API that only takes registrations. */
  commandsPutOnly?: boolean;
  /** Answer every interaction callback 204 No Content, even with `?with_response=true` (an API without it). */
  callbacksWithoutResponse?: boolean;
  /** Refuse interaction follow-ups (POST /webhooks/{app}/{token}) with 404, like an API without webhooks. */
  noFollowUps?: boolean;
}

/** A guild the fake announces over the gateway. */
export interface FakeGuild {
  id: string;
  /** Role ids besides @everyone (whose id is the guild's). */
  roles?: string[];
  /** Text channel ids. */
  channels?: string[];
}

/** The guild every test injects interactions into unless it says otherwise. */
export const fakeGuildId = "1200000000000000001";

const jsonHeaders = { "content-type": "application/json" };

/** Answers a request (no payload = empty body, as Discord's 204s have); true so routes can `return send(…)`. */
type Send = (status: number, payload?: unknown, headers?: Record<string, string>) => true;

/**
 * A small Discord on 127.0.0.1 for tests: the REST routes the transport uses (gateway info,
 * application commands, channel messages, interaction callbacks, webhook edits and follow-ups) and a
 * WebSocket gateway (HELLO, IDENTIFY → READY, heartbeat ACKs, injected INTERACTION_CREATE). It keeps
 * every request and every message so tests can assert on what the real discord.js client sent.
 */
export class FakeDiscord {
  readonly requests: RecordedRequest[] = [];
  readonly messages = new Map<string, FakeMessage>();
  readonly identifies: Record<string, unknown>[] = [];
  /** Interaction callbacks by interaction id (type + data as posted). */
  readonly callbacks = new Map<string, { type: number; data?: Record<string, unknown> }>();
  heartbeats = 0;
  /** False = heartbeats go unanswered (a zombie connection: the client should reconnect and RESUME). */
  ackHeartbeats = true;
  readonly applicationId: string;
  readonly botUser: { id: string; username: string };
  private token: string;
  private revoked = false;
  /** REST answers 401 for the bot token (the gateway may still be up, as after a token reset). */
  private restRevoked = false;
  /** Registered application commands by scope (`global` or a guild id), as Discord stores them. */
  readonly registered = new Map<string, Record<string, unknown>[]>();
  /** Message nonces seen, by channel and nonce. */
  private readonly nonces = new Map<string, FakeMessage>();
  /** Gateway sessions that can still be resumed. */
  private readonly sessions = new Set<string>();
  private seq = 0;
  private nextSnowflake = 1_300_000_000_000_000_000n;
  private readonly planned: Planned[] = [];
  private readonly delays: { path: RegExp; ms: number }[] = [];
  /** Requests processed at once but answered late (a slow platform that accepted them), and how many more. */
  private readonly lateAnswers: { method: string; path: RegExp; ms: number; left: number }[] = [];
  private readonly sockets = new Set<WebSocket>();
  private readonly interactions = new Map<string, { token: string; channelId: string; messageId?: string }>();
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = [];
  private server!: Server;
  private wss!: WebSocketServer;
  private port = 0;

  private constructor(private readonly options: FakeDiscordOptions) {
    this.token = options.token;
    this.applicationId = options.applicationId ?? "1100000000000000001";
    this.botUser = { id: this.applicationId, username: "asm-test-bot" };
  }

  static async start(options: FakeDiscordOptions): Promise<FakeDiscord> {
    const fake = new FakeDiscord(options);
    await fake.listen();
    return fake;
  }

  /** The REST base to give the client (`rest.api`). */
  get apiBase(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  /** A new snowflake id, as a string (they exceed 2^53). */
  snowflake(): string {
    this.nextSnowflake += 1n;
    return this.nextSnowflake.toString();
  }

  /**
   * The next `times` requests matching method + path answer 429 with this `retry_after` (seconds).
   * `code` makes it one of Discord's coded 429s, e.g. 30046 (edits to messages older than an hour:
   * 3 per 6 s per channel).
   */
  rateLimit(method: string, path: RegExp, retryAfterSeconds: number, times = 1, global = false, code?: number): void {
    this.planned.push({
      method,
      path,
      times,
      status: 429,
      body:
        code === undefined
          ? { message: "You are being rate limited.", retry_after: retryAfterSeconds, global }
          : { message: "Maximum number of edits to messages older than 1 hour reached. Try again later.", code, retry_after: retryAfterSeconds, global },
      headers: {
        "retry-after": String(retryAfterSeconds),
        "x-ratelimit-scope": global ? "global" : "user",
        ...(global ? { "x-ratelimit-global": "true" } : {}),
      },
    });
  }

  /** The next `times` requests matching method + path fail with this status and Discord error body. */
  fail(method: string, path: RegExp, status: number, code: number, message: string, times = 1): void {
    this.planned.push({ method, path, times, status, body: { message, code }, headers: {} });
  }

  /**
   * The next `times` message posts matching `path` are carried out, but the answer is a 5xx (the
   * edge timed out after Discord created the message): a client that retries blindly posts twice.
   */
  loseAnswers(path: RegExp, status = 502, times = 1): void {
    this.planned.push({ method: "POST", path, times, status, body: { message: "Bad Gateway", code: 0 }, headers: {}, afterProcessing: true });
  }

  /**
   * The token stops working: REST answers 401 and the gateway closes with 4004. With
   * `{ gateway: false }` only REST refuses it, and the open gateway connection stays up for now.
   */
  revokeToken(options: { gateway?: boolean } = {}): void {
    this.restRevoked = true;
    if (options.gateway === false) return;
    this.revoked = true;
    for (const ws of this.sockets) ws.close(4004, "Authentication failed.");
  }

  /** Discord closes every gateway connection with this code (4014 Disallowed intents, say). */
  closeGateway(code: number, reason: string): void {
    for (const ws of this.sockets) ws.close(code, reason);
  }

  /** Discord asks every connection to reconnect (op 7 RECONNECT); the client should RESUME. */
  requestReconnect(): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ op: 7, d: null, s: null, t: null }));
  }

  /**
   * Discord drops every session (op 9 INVALID_SESSION, `d: false`): they cannot be resumed, so
   * the client must identify again on a new connection.
   */
  invalidateSessions(): void {
    this.sessions.clear();
    for (const ws of this.sockets) ws.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
  }

  /** The commands are gone on Discord's side (the app was removed from the guild and added back, say). */
  forgetCommands(): void {
    this.registered.clear();
  }

  /** Requests whose path matches are held this long before they are processed (a slow network). */
  delay(path: RegExp, ms: number): void {
    this.delays.push({ path, ms });
  }

  /**
   * The next `times` requests (Infinity: every one) of `method` whose path matches are processed at once (a
   * message is created) but answered only `ms` later, as a slow Discord seen by a client that may time out.
   */
  answerLate(method: string, path: RegExp, ms: number, times = 1): void {
    this.lateAnswers.push({ method, path, ms, left: times });
  }

  /** A network fault: every gateway connection is cut without a close frame. */
  dropConnections(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  /** Gateway RESUME requests seen (after a dropped connection). */
  readonly resumes: Record<string, unknown>[] = [];

  /** Requests to a path (below /api/v10) matching `path`, optionally by method. */
  requestsTo(path: RegExp, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => path.test(r.path) && (!method || r.method === method));
  }

  channelMessages(channelId: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId && m.origin === "channel" && !m.deleted);
  }

  /** Resolves when `check` becomes true (re-checked after every request and gateway frame). */
  waitFor(check: () => boolean, what = "condition", ms = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake discord: timed out waiting for ${what}`)), ms);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Waits until a gateway connection has identified. */
  waitForIdentify(): Promise<void> {
    return this.waitFor(() => this.identifies.length > 0, "IDENTIFY");
  }

  /** Injects a slash command; returns the interaction id. Options are string/integer values by name. */
  slashCommand(input: { name: string; options?: Record<string, string | number>; user: FakeUser; channelId: string; guildId?: string | null }): string {
    const options = Object.entries(input.options ?? {}).map(([name, value]) => ({
      name,
      type: typeof value === "number" ? 4 : 3,
      value,
    }));
    return this.inject({
      type: 2,
      user: input.user,
      channelId: input.channelId,
      guildId: input.guildId === undefined ? fakeGuildId : input.guildId,
      data: { id: this.snowflake(), name: input.name, type: 1, options },
    });
  }

  /** Injects an autocomplete request for option `focused` with what was typed so far. */
  autocomplete(input: { name: string; focused: string; value: string; user: FakeUser; channelId: string }): string {
    return this.inject({
      type: 4,
      user: input.user,
      channelId: input.channelId,
      guildId: fakeGuildId,
      data: {
        id: this.snowflake(),
        name: input.name,
        type: 1,
        options: [{ name: input.focused, type: 3, value: input.value, focused: true }],
      },
    });
  }

  /** Threads created through POST /channels/{id}/threads, by id. */
  readonly threads = new Map<string, { id: string; parent_id: string; name: string; type: number }>();

  /**
   * A person types in a channel or thread: a MESSAGE_CREATE dispatch, as the GuildMessages intent delivers it.
   * Without the Message Content intent Discord leaves `content` empty unless the message mentions the bot
   * (`mention: true` puts `<@bot>` in front), as the real gateway does.
   */
  userMessage(input: { channelId: string; user: FakeUser; content: string; mention?: boolean; messageContentIntent?: boolean }): string {
    const id = this.snowflake();
    const intents = Number(this.identifies.at(-1)?.intents ?? 0);
    // GUILD_MESSAGES is 1 << 9: without it the gateway sends no guild message at all.
    if (!(intents & (1 << 9))) return id;
    const content = input.mention ? `<@${this.botUser.id}> ${input.content}` : input.content;
    this.dispatch("MESSAGE_CREATE", {
      id,
      channel_id: input.channelId,
      guild_id: fakeGuildId,
      type: 0,
      content: input.mention || input.messageContentIntent ? content : "",
      author: { id: input.user.id, username: input.user.username, discriminator: "0", avatar: null, global_name: null },
      member: { roles: input.user.roles ?? [], joined_at: "2026-01-01T00:00:00.000Z", deaf: false, mute: false, flags: 0 },
      mentions: input.mention ? [{ ...this.botUser, discriminator: "0", avatar: null, bot: true, global_name: null }] : [],
      mention_roles: [],
      mention_everyone: false,
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      tts: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags: 0,
    });
    return id;
  }

  /** Injects a button press on a message the fake knows. */
  press(input: { message: FakeMessage; customId: string; user: FakeUser }): string {
    return this.inject({
      type: 3,
      user: input.user,
      channelId: input.message.channel_id,
      guildId: fakeGuildId,
      data: { custom_id: input.customId, component_type: 2 },
      message: this.toApiMessage(input.message),
      messageId: input.message.id,
    });
  }

  /** The message an interaction's response created or updated (after its callback arrived). */
  responseOf(interactionId: string): FakeMessage | undefined {
    const entry = this.interactions.get(interactionId);
    if (!entry) return undefined;
    return [...this.messages.values()].find((m) => m.origin !== "followup" && m.tokens.includes(entry.token) && !m.deleted);
  }

  /** Follow-up messages sent for an interaction. */
  followUpsOf(interactionId: string): FakeMessage[] {
    const entry = this.interactions.get(interactionId);
    if (!entry) return [];
    return [...this.messages.values()].filter((m) => m.origin === "followup" && m.tokens.includes(entry.token));
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  private async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        res.writeHead(500, jsonHeaders).end(JSON.stringify({ message: String(err), code: 0 }));
      });
    });
    this.wss = new WebSocketServer({ server: this.server, path: "/gateway" });
    this.wss.on("connection", (ws) => this.onGateway(ws));
    await new Promise<void>((resolve) => this.server.listen(this.options.port ?? 0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private notify(): void {
    for (const w of [...this.waiters]) {
      if (w.check()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  private onGateway(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on("close", () => this.sockets.delete(ws));
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.options.heartbeatIntervalMs ?? 41_250 }, s: null, t: null }));
    ws.on("message", (raw) => {
      const frame = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
      if (frame.op === 1) {
        this.heartbeats += 1;
        if (this.ackHeartbeats) ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      } else if (frame.op === 6) {
        if (this.revoked || frame.d.token !== this.token) {
          ws.close(4004, "Authentication failed.");
          return;
        }
        this.resumes.push(frame.d);
        if (!this.sessions.has(String(frame.d.session_id))) {
          // Discord answers a RESUME of a session it no longer has with INVALID_SESSION (not resumable).
          ws.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
          this.notify();
          return;
        }
        this.seq += 1;
        ws.send(JSON.stringify({ op: 0, t: "RESUMED", s: this.seq, d: {} }));
      } else if (frame.op === 2) {
        if (this.revoked || frame.d.token !== this.token) {
          ws.close(4004, "Authentication failed.");
          return;
        }
        this.identifies.push(frame.d);
        const sessionId = randomBytes(16).toString("hex");
        this.sessions.add(sessionId);
        this.seq += 1;
        ws.send(
          JSON.stringify({
            op: 0,
            t: "READY",
            s: this.seq,
            d: {
              v: 10,
              user: { ...this.botUser, discriminator: "0", avatar: null, bot: true, global_name: null, flags: 0 },
              guilds: this.guilds.map((g) => ({ id: g.id, unavailable: true })),
              session_id: sessionId,
              resume_gateway_url: this.gatewayUrl,
              shard: [0, 1],
              application: { id: this.applicationId, flags: 0 },
            },
          }),
        );
        for (const guild of this.guilds) {
          this.seq += 1;
          ws.send(JSON.stringify({ op: 0, t: "GUILD_CREATE", s: this.seq, d: this.guildCreate(guild) }));
        }
      }
      this.notify();
    });
  }

  private get guilds(): FakeGuild[] {
    return this.options.guilds ?? [{ id: fakeGuildId, roles: ["3000000000000000009"] }];
  }

  /** A GUILD_CREATE payload as the Guilds intent delivers it (trimmed to what a bot reads). */
  private guildCreate(guild: FakeGuild): Record<string, unknown> {
    const role = (id: string, name: string, position: number) => ({
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position,
      permissions: "0",
      managed: false,
      mentionable: false,
      flags: 0,
    });
    return {
      id: guild.id,
      name: "asm test guild",
      icon: null,
      owner_id: "2000000000000000100",
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      features: [],
      mfa_level: 0,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      preferred_locale: "en-US",
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      joined_at: "2026-01-01T00:00:00.000Z",
      large: false,
      unavailable: false,
      member_count: 3,
      roles: [role(guild.id, "@everyone", 0), ...(guild.roles ?? []).map((id, i) => role(id, `role ${i + 1}`, i + 1))],
      emojis: [],
      stickers: [],
      members: [],
      channels: (guild.channels ?? []).map((id, i) => ({
        id,
        type: 0,
        name: `channel-${i + 1}`,
        position: i,
        guild_id: guild.id,
        permission_overwrites: [],
        nsfw: false,
        parent_id: null,
        topic: null,
        last_message_id: null,
        rate_limit_per_user: 0,
      })),
      threads: [],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  private inject(input: {
    type: number;
    user: FakeUser;
    channelId: string;
    guildId: string | null;
    data: Record<string, unknown>;
    message?: Record<string, unknown>;
    messageId?: string;
  }): string {
    const id = this.snowflake();
    const token = `aW50ZXJhY3Rpb246${randomBytes(24).toString("hex")}`;
    this.interactions.set(id, { token, channelId: input.channelId, ...(input.messageId ? { messageId: input.messageId } : {}) });
    const user = { id: input.user.id, username: input.user.username, discriminator: "0", avatar: null, global_name: null };
    const who = input.guildId
      ? {
          member: {
            user,
            roles: input.user.roles ?? [],
            permissions: "0",
            joined_at: "2026-01-01T00:00:00.000Z",
            deaf: false,
            mute: false,
            flags: 0,
          },
        }
      : { user };
    const d = {
      id,
      application_id: this.applicationId,
      type: input.type,
      data: input.data,
      ...(input.guildId ? { guild_id: input.guildId } : {}),
      channel_id: input.channelId,
      // A DM channel is type 1 and names its recipient; a guild text channel is type 0.
      channel: input.guildId
        ? { id: input.channelId, type: 0, guild_id: input.guildId }
        : { id: input.channelId, type: 1, recipients: [user], last_message_id: null, flags: 0 },
      ...who,
      token,
      version: 1,
      app_permissions: "0",
      locale: "en-US",
      entitlements: [],
      authorizing_integration_owners: {},
      context: input.guildId ? 0 : 1,
      ...(input.message ? { message: input.message } : {}),
    };
    this.dispatch("INTERACTION_CREATE", d);
    return id;
  }

  private dispatch(t: string, d: unknown): void {
    this.seq += 1;
    const frame = JSON.stringify({ op: 0, t, s: this.seq, d });
    for (const ws of this.sockets) ws.send(frame);
  }

  private toApiMessage(m: FakeMessage): Record<string, unknown> {
    return {
      id: m.id,
      channel_id: m.channel_id,
      type: 0,
      content: m.content,
      embeds: m.embeds,
      components: m.components,
      flags: m.flags,
      author: { ...this.botUser, discriminator: "0", avatar: null, bot: true, global_name: null },
      timestamp: "2026-01-01T00:00:00.000Z",
      edited_timestamp: m.edits ? "2026-01-01T00:00:01.000Z" : null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: m.attachments.map((a) => ({
        id: a.id,
        filename: a.filename,
        size: a.bytes.length,
        content_type: a.contentType,
        url: `https://cdn.invalid/${a.id}/${a.filename}`,
      })),
      pinned: false,
    };
  }

  private createMessage(channelId: string, body: Record<string, unknown>, origin: FakeMessage["origin"] = "channel", token?: string): FakeMessage {
    const m: FakeMessage = {
      id: this.snowflake(),
      channel_id: channelId,
      content: String(body.content ?? ""),
      embeds: (body.embeds as Record<string, unknown>[] | undefined) ?? [],
      components: (body.components as Record<string, unknown>[] | undefined) ?? [],
      flags: Number(body.flags ?? 0),
      edits: 0,
      deleted: false,
      origin,
      tokens: token ? [token] : [],
      attachments: (body[uploadsKey] as FakeAttachment[] | undefined) ?? [],
    };
    this.messages.set(m.id, m);
    return m;
  }

  /**
   * Create Message as Discord does it: with `enforce_nonce` and a `nonce` seen in the last few
   * minutes from the same author, the earlier message is returned and nothing new is created.
   */
  private postMessage(channelId: string, body: Record<string, unknown>): FakeMessage {
    const nonce = body.nonce === undefined ? undefined : String(body.nonce);
    if (nonce !== undefined && body.enforce_nonce === true) {
      const earlier = this.nonces.get(`${channelId}:${nonce}`);
      if (earlier) return earlier;
    }
    const m = this.createMessage(channelId, body);
    if (nonce !== undefined) this.nonces.set(`${channelId}:${nonce}`, m);
    return m;
  }

  private updateMessage(m: FakeMessage, body: Record<string, unknown>): void {
    m.loading = false;
    if ("content" in body) m.content = String(body.content ?? "");
    if ("embeds" in body) m.embeds = (body.embeds as Record<string, unknown>[] | null) ?? [];
    if ("components" in body) m.components = (body.components as Record<string, unknown>[] | null) ?? [];
    if (body[uploadsKey]) m.attachments = body[uploadsKey] as FakeAttachment[];
    m.edits += 1;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const text = raw.toString("utf8");
    const contentType = req.headers["content-type"] ?? "";
    let body = text && contentType.includes("json") ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (contentType.startsWith("multipart/form-data")) {
      // An upload (discord.js sends files this way): the JSON body is the payload_json part, each files[n] part a file.
      const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
      const json = form.get("payload_json");
      body = typeof json === "string" ? (JSON.parse(json) as Record<string, unknown>) : {};
      const uploads: FakeAttachment[] = [];
      for (const [name, value] of form.entries()) {
        if (typeof value === "string" || !/^files\[\d+\]$/.test(name)) continue;
        uploads.push({ id: this.snowflake(), filename: value.name, contentType: value.type, bytes: Buffer.from(await value.arrayBuffer()) });
      }
      body[uploadsKey] = uploads;
    }
    const method = req.method ?? "GET";
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v10/, "");
    const record: RecordedRequest = {
      method,
      path,
      query: url.searchParams,
      body,
      authorization: req.headers.authorization,
      status: 0,
    };
    this.requests.push(record);
    const late = this.lateAnswers.find((l) => l.method === method && l.path.test(path) && l.left > 0);
    if (late) late.left -= 1;
    const send: Send = (status, payload, headers = {}) => {
      record.status = status;
      if (late) {
        setTimeout(() => {
          if (res.destroyed) return;
          if (payload === undefined) res.writeHead(status, headers).end();
          else res.writeHead(status, { ...jsonHeaders, ...headers }).end(JSON.stringify(payload));
          this.notify();
        }, late.ms);
        return true;
      }
      if (payload === undefined) res.writeHead(status, headers).end();
      else res.writeHead(status, { ...jsonHeaders, ...headers }).end(JSON.stringify(payload));
      this.notify();
      return true;
    };

    const slow = this.delays.find((d) => d.path.test(path));
    if (slow) await new Promise((r) => setTimeout(r, slow.ms));

    const plan = this.planned.find((p) => p.method === method && p.path.test(path) && p.times > 0);
    if (plan?.afterProcessing) {
      plan.times -= 1;
      const post = path.match(/^\/channels\/(\d+)\/messages$/);
      if (post) this.postMessage(post[1]!, body);
      return send(plan.status, plan.body, plan.headers);
    }
    if (plan) {
      plan.times -= 1;
      return send(plan.status, plan.body, plan.headers);
    }

    const usesToken = path.startsWith("/interactions/") || path.startsWith("/webhooks/");
    if (!usesToken && (this.restRevoked || req.headers.authorization !== `Bot ${this.token}`)) {
      return send(401, { message: "401: Unauthorized", code: 0 });
    }

    const match = (want: string | null, re: RegExp) => (want === null || method === want ? path.match(re) : null);
    if (method === "GET" && path === "/gateway/bot") {
      return send(200, {
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (method === "GET" && path === "/users/@me") return send(200, { ...this.botUser, discriminator: "0", avatar: null, bot: true });
    if (method === "GET" && path === "/applications/@me") return send(200, { id: this.applicationId, name: "asm", flags: 0 });
    const commands = match(null, /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/);
    if (commands && method === "GET" && this.options.commandsPutOnly) return send(405, { message: "405: Method Not Allowed", code: 0 });
    if (commands && (method === "GET" || method === "PUT")) {
      if (commands[1] !== this.applicationId) return send(403, { message: "Missing Access", code: 50001 });
      const scope = commands[2] ?? "global";
      if (method === "PUT")
        this.registered.set(
          scope,
          (body as unknown as Record<string, unknown>[]).map((c) => this.storedCommand(c, commands[2])),
        );
      return send(200, this.registered.get(scope) ?? []);
    }
    const post = match("POST", /^\/channels\/(\d+)\/messages$/);
    if (post) return send(200, this.toApiMessage(this.postMessage(post[1]!, body)));
    const thread = match("POST", /^\/channels\/(\d+)\/threads$/);
    if (thread) {
      const name = String(body.name ?? "");
      if (name.length < 1 || name.length > 100) return send(400, { message: "Invalid Form Body", code: 50035 });
      if (this.threads.has(thread[1]!)) return send(400, { message: "Cannot execute action on this channel type", code: 50024 });
      const created = { id: this.snowflake(), parent_id: thread[1]!, name, type: Number(body.type ?? 11) };
      this.threads.set(created.id, created);
      return send(201, {
        ...created,
        guild_id: fakeGuildId,
        owner_id: this.botUser.id,
        thread_metadata: { archived: false, auto_archive_duration: body.auto_archive_duration ?? 4320, locked: false },
      });
    }
    const patch = match("PATCH", /^\/channels\/(\d+)\/messages\/(\d+)$/);
    if (patch) {
      const msg = this.messages.get(patch[2]!);
      if (!msg || msg.channel_id !== patch[1] || msg.deleted) return send(404, { message: "Unknown Message", code: 10008 });
      this.updateMessage(msg, body);
      return send(200, this.toApiMessage(msg));
    }
    const callback = match("POST", /^\/interactions\/(\d+)\/([^/]+)\/callback$/);
    if (callback) {
      return this.interactionCallback(
        callback[1]!,
        callback[2]!,
        body,
        url.searchParams.get("with_response") === "true" && !this.options.callbacksWithoutResponse,
        send,
      );
    }
    const hook = match(null, /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(@original|\d+))?$/);
    if (hook && method === "POST" && !hook[3] && this.options.noFollowUps) return send(404, { message: "404: Not Found", code: 0 });
    if (hook) return this.webhook(method, hook[2]!, hook[3], body, send);
    return send(404, { message: `404: Not Found (${method} ${path})`, code: 0 });
  }

  /**
   * A command as Discord stores and returns it: ids and version added, defaults filled in
   * (type 1, contexts and integration types, null localizations and permissions), and per option
   * `required`/`autocomplete` left out when false, as Discord does.
   */
  private storedCommand(c: Record<string, unknown>, guildId: string | undefined): Record<string, unknown> {
    const options = ((c.options as Record<string, unknown>[] | undefined) ?? []).map((o) => {
      const { required, autocomplete, ...rest } = o;
      return {
        ...rest,
        description_localizations: null,
        name_localizations: null,
        ...(required ? { required: true } : {}),
        ...(autocomplete ? { autocomplete: true } : {}),
      };
    });
    return {
      id: this.snowflake(),
      application_id: this.applicationId,
      version: this.snowflake(),
      default_member_permissions: null,
      type: 1,
      nsfw: false,
      integration_types: [0],
      contexts: null,
      ...(guildId ? { guild_id: guildId } : { dm_permission: true }),
      ...c,
      name_localizations: null,
      description_localizations: null,
      ...(options.length ? { options } : {}),
    };
  }

  private interactionCallback(id: string, token: string, body: Record<string, unknown>, withResponse: boolean, send: Send): boolean {
    const entry = this.interactions.get(id);
    if (!entry || entry.token !== token) return send(404, { message: "Unknown interaction", code: 10062 });
    if (this.callbacks.has(id)) return send(400, { message: "Interaction has already been acknowledged.", code: 40060 });
    const type = Number(body.type);
    // Files uploaded with a callback belong to the message it creates or updates.
    const data: Record<string, unknown> = { ...((body.data as Record<string, unknown> | undefined) ?? {}) };
    if (body[uploadsKey]) data[uploadsKey] = body[uploadsKey];
    this.callbacks.set(id, { type, data });
    let message: FakeMessage | undefined;
    if (type === 4 || type === 5) {
      // 5 = "thinking…": a placeholder message the later editReply fills in.
      message = this.createMessage(entry.channelId, type === 4 ? data : { flags: data.flags }, "response", token);
      if (type === 5) message.loading = true;
    } else if (type === 7 && entry.messageId) {
      message = this.messages.get(entry.messageId);
      if (message) {
        this.updateMessage(message, data);
        message.tokens.push(token);
      }
    } else if (type === 6 && entry.messageId) {
      const original = this.messages.get(entry.messageId);
      original?.tokens.push(token);
    }
    if (!withResponse) return send(204);
    return send(200, {
      interaction: { id, type: 2, response_message_id: message?.id, response_message_loading: type === 5 },
      resource: { type, ...(message ? { message: this.toApiMessage(message) } : {}) },
    });
  }

  private webhook(method: string, token: string, target: string | undefined, body: Record<string, unknown>, send: Send): boolean {
    const entry = [...this.interactions.values()].find((e) => e.token === token);
    if (!entry) return send(404, { message: "Unknown Webhook", code: 10015 });
    if (method === "POST" && !target) {
      // Discord: the first follow-up to a deferred reply that is still "thinking…" fills that
      // placeholder in, and its `flags` are ignored (the deferral decided whether it is ephemeral).
      const loading = [...this.messages.values()].find((m) => m.loading && !m.deleted && m.tokens.includes(token));
      if (loading) {
        this.updateMessage(loading, body);
        loading.edits = 0;
        return send(200, this.toApiMessage(loading));
      }
      const msg = this.createMessage(entry.channelId, body, "followup", token);
      return send(200, this.toApiMessage(msg));
    }
    const original =
      target === "@original"
        ? [...this.messages.values()].find((m) => m.origin !== "followup" && m.tokens.includes(token) && !m.deleted)
        : this.messages.get(target ?? "");
    if (!original) return send(404, { message: "Unknown Message", code: 10008 });
    if (method === "PATCH") {
      this.updateMessage(original, body);
      return send(200, this.toApiMessage(original));
    }
    if (method === "GET") return send(200, this.toApiMessage(original));
    if (method === "DELETE") {
      original.deleted = true;
      return send(204);
    }
    return send(405, { message: "405: Method Not Allowed", code: 0 });
  }
}

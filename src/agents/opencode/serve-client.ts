/**
 * The HTTP side of `opencode serve` (RUNNER.md §1.4): JSON requests with basic auth and the `GET /event`
 * server-sent event stream, against one loopback URL only. No knowledge of what the routes mean (that is
 * serve.ts); errors are classes that say which route failed and how.
 */

/** A request the server answered with a status other than the one the route promises. */
export class ServeHttpError extends Error {
  constructor(
    /** `POST /session` (ids included, never the password). */
    readonly route: string,
    readonly status: number,
    /** The start of the response body (OpenCode answers `{name, data:{message}}`). */
    readonly body: string,
  ) {
    super(`${route} answered ${status}${body ? `: ${body.slice(0, 200)}` : ""}`);
    this.name = "ServeHttpError";
  }
}

/** The server could not be reached at all (refused, reset, timed out). */
export class ServeUnreachableError extends Error {
  constructor(
    readonly route: string,
    cause: unknown,
  ) {
    super(`${route} failed: ${describe(cause)}`, { cause });
    this.name = "ServeUnreachableError";
  }
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED …): say both. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const inner = e.cause instanceof Error ? e.cause.message : null;
  return inner && inner !== e.message ? `${e.message} (${inner})` : e.message;
}

/** The only base URL the session talks to: `http://127.0.0.1:<port>`, what `--hostname 127.0.0.1` prints. */
export const LOOPBACK_URL = /^http:\/\/127\.0\.0\.1:(\d{1,5})\/?$/;

/** How long one JSON request may take (a prompt_async answers at once; messages of a long session take longer). */
const REQUEST_TIMEOUT_MS = 30_000;

/** One `opencode serve` as seen from its HTTP API. */
export class ServeClient {
  readonly base: string;
  readonly #auth: string;

  /** `url` must be a loopback URL (`LOOPBACK_URL`); `password` is `OPENCODE_SERVER_PASSWORD`. */
  constructor(url: string, password: string) {
    if (!LOOPBACK_URL.test(url)) throw new Error(`refusing OpenCode server URL ${JSON.stringify(url)}: not http://127.0.0.1:<port>`);
    this.base = url.replace(/\/$/, "");
    this.#auth = `Basic ${Buffer.from(`opencode:${password}`).toString("base64")}`;
  }

  /**
   * One JSON request. Answers the parsed body (null for 204 or an empty body); throws `ServeHttpError` for
   * any status outside 2xx and `ServeUnreachableError` when nothing answered.
   */
  async json(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<unknown> {
    const route = `${method} ${path}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { authorization: this.#auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      throw new ServeUnreachableError(route, e);
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) throw new ServeHttpError(route, res.status, text);
    if (!text) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ServeHttpError(route, res.status, `not JSON: ${text.slice(0, 80)}`);
    }
  }

  /**
   * Opens `GET /event` and answers once the server has accepted the subscription (status 200), with the
   * stream of its `data:` payloads. Ends when the server closes the stream or `signal` aborts.
   */
  async events(signal: AbortSignal): Promise<AsyncIterable<string>> {
    const route = "GET /event";
    let res: Response;
    try {
      res = await fetch(`${this.base}/event`, { headers: { authorization: this.#auth, accept: "text/event-stream" }, signal });
    } catch (e) {
      throw new ServeUnreachableError(route, e);
    }
    if (!res.ok || !res.body) throw new ServeHttpError(route, res.status, await res.text().catch(() => ""));
    return sseData(res.body);
  }
}

/**
 * The `data:` payloads of a server-sent event stream, one per event (several `data:` lines joined by "\n"),
 * as the SSE format defines them; comments, `event:`, `id:` and `retry:` fields are skipped. OpenCode sends
 * one `data: <json>` line per event. A cut stream ends the iteration (a half event is dropped).
 */
export async function* sseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  let data: string[] = [];
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    for (let i = buf.search(/\r?\n/); i >= 0; i = buf.search(/\r?\n/)) {
      const line = buf.slice(0, i);
      buf = buf.slice(buf[i] === "\r" ? i + 2 : i + 1);
      if (line === "") {
        if (data.length) yield data.join("\n");
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(line[5] === " " ? 6 : 5));
      }
    }
  }
}

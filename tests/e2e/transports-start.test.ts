import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { collectStderr, exitOf, spawnAsm, waitForOutput } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * Monitoring starts at once whatever the chat APIs do at start, and SIGTERM exits within seconds even
 * while a request hangs. A loopback server stands in for the Bot API: it never answers, or answers 500.
 */
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function botApi(behaviour: "hang" | "500"): Promise<string> {
  const open = new Set<import("node:http").ServerResponse>();
  const server: Server = createServer((req, res) => {
    req.resume();
    if (behaviour === "500") {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: false, error_code: 500, description: "Internal Server Error" }));
      return;
    }
    open.add(res); // never answered
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("asm run while the chat API misbehaves at start", () => {
  for (const behaviour of ["hang", "500"] as const) {
    it(`Telegram ${behaviour === "hang" ? "hanging" : "answering 500"}: the first check cycle runs at once, and SIGTERM exits within seconds`, {
      timeout: 90_000,
    }, async () => {
      const apiRoot = await botApi(behaviour);
      const dir = tempDir();
      const child = spawnAsm(["run"], {
        HOME: dir,
        ASM_DB: join(dir, "asm.db"),
        TELEGRAM_BOT_TOKEN: "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678",
        TELEGRAM_API_ROOT: apiRoot,
        TELEGRAM_FEED_CHAT_ID: "-100777",
      });
      const stderr = collectStderr(child);
      const exited = exitOf(child);
      closers.push(() => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      await waitForOutput(child.stdout!, "watching:", 30_000);
      const bannerAt = Date.now();
      await waitForOutput(child.stderr!, "check cycle", 30_000).catch(() => undefined);
      expect(stderr(), "a check cycle ran").toContain("check cycle");
      // Normally well under a second; the transport's 60 s request timeout must not be in it.
      expect(Date.now() - bannerAt).toBeLessThan(8_000);
      const stopAt = Date.now();
      child.kill("SIGTERM");
      expect((await exited).code).toBe(0);
      expect(Date.now() - stopAt).toBeLessThan(12_000);
    });
  }
});

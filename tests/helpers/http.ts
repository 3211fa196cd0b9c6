import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LoopbackServer {
  server: Server;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Closes the server and any connection still open (a slow response in flight, a keep-alive socket). */
  close: () => Promise<void>;
}

/** A real HTTP server on 127.0.0.1 with an ephemeral port, for probes and webhooks under test. */
export async function loopbackServer(handler: RequestListener): Promise<LoopbackServer> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    base: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Answers `body` only after `ms` (a probe's timeout fires first); the timer ends with the request. */
export function answerLate(req: IncomingMessage, res: ServerResponse, body: string, ms = 5_000): void {
  const t = setTimeout(() => res.end(body), ms);
  req.on("close", () => clearTimeout(t));
}

/**
 * Small HTTP helpers shared by the stand-in servers: body reading, listening on 127.0.0.1, and a
 * close that really ends everything (keep-alive sockets, requests held open on purpose, timers),
 * so that jest exits without `--forceExit`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Request handler of a stand-in server. */
export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

/** A started server with a close that also ends open sockets and pending timers. */
export interface ManagedServer {
  server: Server;
  port: number;
  url: string;
  /** Sleeps `ms`; the sleep ends early (resolves) when the server closes. */
  sleep(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Reads the whole request body. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * Starts `handler` on 127.0.0.1:`port` (0 = random). A handler that throws answers 500 with the
 * error message, so a bug in a stand-in is visible in the test that hit it.
 */
export async function startServer(handler: Handler, port = 0): Promise<ManagedServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<{ timer: NodeJS.Timeout; done: () => void }>();
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => handler(req, res, body))
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`stand-in error: ${message}`);
        }
      });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") {
    throw new Error("stand-in: server has no TCP address");
  }
  let closed = false;
  return {
    server,
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    sleep(ms: number): Promise<void> {
      if (closed || ms <= 0) return Promise.resolve();
      return new Promise((resolve) => {
        const entry = {
          done: () => {
            timers.delete(entry);
            resolve();
          },
          timer: setTimeout(() => entry.done(), ms),
        };
        timers.add(entry);
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const entry of [...timers]) {
        clearTimeout(entry.timer);
        entry.done();
      }
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}

/** Answers a JSON body. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

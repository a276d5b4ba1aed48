/**
 * Test helpers for the channel drivers: a real HTTP server on 127.0.0.1, fixture loading, a
 * capturing logger, channel contexts, and a local SNS endpoint for the real SDK client.
 */
import { readFileSync, readdirSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { SNSClient } from "@aws-sdk/client-sns";
import { snsPublisher } from "../../handlers/channels/sns-publisher";
import type { ChannelContext, Logger, SnsPublisher } from "../../handlers/channels/types";
import type { ChannelConfig, Notification } from "../../handlers/types";

const FIXTURE_DIR = join(__dirname, "..", "fixtures", "notifications");

/** Names of the notification fixtures (file names without .json). */
export const FIXTURE_NAMES = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.replace(/\.json$/, ""))
  .sort();

/** Loads one notification fixture (a fresh copy). */
export function fixture(name: string): Notification {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, `${name}.json`), "utf8")) as Notification;
}

/** One request as the local server received it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A running local server. */
export interface LocalServer {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** What the handler does with a request: answer it, or leave it hanging / destroy the socket. */
export type Handler = (req: ReceivedRequest, res: ServerResponse, socket: Socket) => void;

/** Starts a real HTTP server on 127.0.0.1 with an ephemeral port. */
export async function startServer(handler: Handler): Promise<LocalServer> {
  const requests: ReceivedRequest[] = [];
  const sockets: Socket[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const received = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(received);
      handler(received, res, req.socket);
    });
  });
  server.on("connection", (s: Socket) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A reply: status, body, headers; or "hang" (never answer) or "reset" (destroy the socket). */
export type Reply =
  { status: number; body?: string; headers?: Record<string, string> } | "hang" | "reset";

/** A handler that answers every request with `reply`. */
export function replyWith(reply: Reply): Handler {
  return (_req, res, socket) => {
    if (reply === "hang") return;
    if (reply === "reset") {
      socket.destroy();
      return;
    }
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body ?? "");
  };
}

/** One captured log line. */
export interface LogLine {
  level: "info" | "warn" | "error";
  msg: string;
  fields?: Record<string, unknown>;
}

/** A logger that keeps every line. */
export function captureLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, msg, ...(fields && { fields }) });
    };
  return { log: { info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

/** An SNS publisher that must not be called (HTTP channels). */
export const NO_SNS: SnsPublisher = {
  publish: () => Promise.reject(new Error("SNS must not be called by an HTTP channel")),
};

/** Builds a channel context with a generous deadline. */
export function makeContext<C extends ChannelConfig>(
  config: C,
  secret: Record<string, string>,
  extra: Partial<ChannelContext<C>> = {},
): { ctx: ChannelContext<C>; lines: LogLine[] } {
  const { log, lines } = captureLogger();
  const ctx: ChannelContext<C> = {
    name: `${config.type}-test`,
    config,
    secret,
    deadline: Date.now() + 30_000,
    timeoutMs: 2000,
    sns: NO_SNS,
    log,
    ...extra,
  };
  return { ctx, lines };
}

/** Decodes an SNS Query-protocol request body (form-encoded) into its parameters. */
export function snsParams(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

/** A successful SNS Publish answer. */
export function snsPublishOk(messageId: string): Reply {
  return {
    status: 200,
    headers: { "content-type": "text/xml" },
    body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></PublishResponse>`,
  };
}

/** An SNS error answer. */
export function snsError(status: number, code: string, message: string): Reply {
  return {
    status,
    headers: { "content-type": "text/xml" },
    body: `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${status >= 500 ? "Receiver" : "Sender"}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`,
  };
}

/**
 * A real SNS client pointed at `endpoint` through the SDK's standard `AWS_ENDPOINT_URL_SNS`
 * variable, with one attempt (retries are the driver's and the queue's business).
 */
export function localSns(endpoint: string): SnsPublisher {
  process.env.AWS_ENDPOINT_URL_SNS = endpoint;
  process.env.AWS_REGION = "eu-west-1";
  process.env.AWS_ACCESS_KEY_ID = "AKIDLOCALTEST";
  process.env.AWS_SECRET_ACCESS_KEY = "local-test-secret";
  return snsPublisher(new SNSClient({ maxAttempts: 1 }));
}

/** Every string reachable from an error: message, stack, and every own property, deeply. */
export function errorText(e: unknown): string {
  if (!(e instanceof Error)) return JSON.stringify(e) ?? String(e);
  const own: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(e))
    own[key] = (e as unknown as Record<string, unknown>)[key];
  return `${e.message}\n${e.stack ?? ""}\n${JSON.stringify(own)}\n${errorText((e as { cause?: unknown }).cause ?? null)}`;
}

/** Runs `fn`, expecting it to reject; returns the rejection. */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (e: unknown) {
    return e;
  }
  throw new Error("expected a rejection, but the call resolved");
}

/** Every mrkdwn text (`{type: "mrkdwn", text}`) found anywhere in `blocks`, in document order. */
export function mrkdwnTexts(blocks: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== "object") return;
    const o = v as Record<string, unknown>;
    if (o.type === "mrkdwn" && typeof o.text === "string") out.push(o.text);
    Object.values(o).forEach(walk);
  };
  walk(blocks);
  return out;
}

/**
 * The sandbox's HTTP server on 127.0.0.1: the live page (static files from `page/`, no build
 * step) and the HTTP API.
 *
 * | route                     | what                                                            |
 * |---------------------------|-----------------------------------------------------------------|
 * | `GET /`                   | the page                                                        |
 * | `GET /api/state`          | everything the page shows (inboxes, incidents, audit, DLQ, …)   |
 * | `GET /api/sandbox`        | port, stack, the local signing secret, approvers per pipeline, channels and their fault receivers |
 * | `GET /api/deliveries`     | everything each receiver got                                    |
 * | `GET /api/audit`          | the audit trail                                                 |
 * | `GET /api/codepipeline`   | the CodePipeline stand-in, every (account, region): executions, approval runs, tokens |
 * | `GET /api/traffic`        | per channel: messages, digests, 429s, most per second, deferrals; pages; DLQ |
 * | `GET /api/alarms`         | per fault set: AWS seconds from "starts failing" to the first ops alarm |
 * | `POST /events`            | an EventBridge event or PutEvents' `{Entries:[…]}`: routed       |
 * | `POST /slack/interactions`| as Slack calls it: raw body + signature headers → approval Lambda |
 * | `POST /api/faults`        | `{receiver, fault}`: `"500"`, `"503x2"`, `"timeout"`, `null`; 400 names the field and value |
 * | `POST /api/scenario`      | plays the last scenario again (`--scenario`'s, else the stack's built-in one); 409 while one plays |
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { sendJson, startServer, type ManagedServer } from "../testing";

/** Why a scenario cannot start now (`POST /api/scenario` answers 409 with it). */
export const SCENARIO_BUSY =
  "a scenario is already playing: replay it once it has ended (the page shows its steps)";

/** What the server needs from the sandbox. */
export interface SandboxCore {
  info(): Record<string, unknown>;
  state(): Promise<Record<string, unknown>>;
  deliveries(): Record<string, unknown[]>;
  audit(): Promise<Array<Record<string, unknown>>>;
  /**
   * The CodePipeline stand-in's state (testing/aws/codepipeline/view.ts): per pipeline its
   * execution mode, executions (attempt, mode, type, status) and pending / decided approval runs
   * with who decided, when and which token. Absent: `GET /api/codepipeline` answers 404.
   */
  codepipeline?(): Record<string, unknown>;
  /** Per channel traffic of a storm (traffic.ts); absent: `GET /api/traffic` answers 404. */
  traffic?(): unknown;
  /** Time to the ops alarm per fault (ops-alarms.ts); absent: `GET /api/alarms` answers 404. */
  alarms?(): unknown;
  postEvent(input: unknown): Promise<unknown[]>;
  /** Forwards a Slack request to the approval function as a function URL event. */
  interact(
    rawBody: string,
    headers: Record<string, string>,
  ): Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;
  /**
   * Sets (`fault` as `--fault` spells it after the `=`) or clears (null, `"off"`) a receiver's
   * fault. @throws FaultInputError (sandbox/faults.ts) naming the `receiver` or `fault` field.
   */
  setFault(receiver: string, fault: string | null): void;
  /** Whether a scenario is playing now (a replay then is refused). */
  scenarioPlaying(): boolean;
  replay(): Promise<void>;
}

/** The running server. */
export interface SandboxServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const PAGE_DIR = path.join(__dirname, "page");
const STATIC: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/app.js": "app.js",
  "/blockkit.js": "blockkit.js",
  "/markdown.js": "markdown.js",
  "/style.css": "style.css",
};
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};
/** Larger bodies are refused: nothing the sandbox accepts comes close (EventBridge: 256 KB). */
const MAX_BODY_BYTES = 1024 * 1024;

function problem(res: Parameters<typeof sendJson>[0], status: number, message: string): void {
  sendJson(res, status, { error: message });
}

/**
 * Checks that `port` can be listened on at 127.0.0.1 (0 always can), so that a clash is reported
 * before the sandbox spends seconds evaluating the program.
 * @throws `port <port> is in use; pass --port <another>`.
 */
export async function assertPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new Error(`port ${port} is in use; pass --port <another>`, { cause: err })
          : err,
      ),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

/** Starts the page and API on 127.0.0.1:`port` (0 = any free port). */
export async function startSandboxServer(core: SandboxCore, port: number): Promise<SandboxServer> {
  let server: ManagedServer;
  try {
    server = await startServer(async (req, res, body) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const route = `${req.method ?? "GET"} ${url.pathname}`;
      if (body.length > MAX_BODY_BYTES) return problem(res, 413, "body too large");
      const json = (): unknown => {
        try {
          return JSON.parse(body.toString("utf8"));
        } catch {
          throw Object.assign(new Error("body is not JSON"), { status: 400 });
        }
      };
      try {
        if (req.method === "GET" && STATIC[url.pathname]) {
          const file = path.join(PAGE_DIR, STATIC[url.pathname]);
          const text = await fs.promises.readFile(file);
          res.writeHead(200, {
            "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
            "cache-control": "no-store",
          });
          res.end(text);
          return;
        }
        if (url.pathname === "/favicon.ico") {
          res.writeHead(204).end();
          return;
        }
        switch (route) {
          case "GET /api/state":
            return sendJson(res, 200, await core.state(), { "cache-control": "no-store" });
          case "GET /api/sandbox":
            return sendJson(res, 200, core.info());
          case "GET /api/deliveries":
            return sendJson(res, 200, core.deliveries());
          case "GET /api/audit":
            return sendJson(res, 200, await core.audit());
          case "GET /api/codepipeline":
            if (!core.codepipeline) return problem(res, 404, `no route ${route}`);
            return sendJson(res, 200, core.codepipeline(), { "cache-control": "no-store" });
          case "GET /api/traffic":
            if (!core.traffic) return problem(res, 404, `no route ${route}`);
            return sendJson(res, 200, core.traffic(), { "cache-control": "no-store" });
          case "GET /api/alarms":
            if (!core.alarms) return problem(res, 404, `no route ${route}`);
            return sendJson(res, 200, core.alarms(), { "cache-control": "no-store" });
          case "POST /events":
            return sendJson(res, 200, { events: await core.postEvent(json()) });
          case "POST /slack/interactions": {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(req.headers)) {
              if (typeof v === "string") headers[k.toLowerCase()] = v;
            }
            const answer = await core.interact(body.toString("utf8"), headers);
            res.writeHead(answer.statusCode, answer.headers);
            res.end(answer.body);
            return;
          }
          case "POST /api/faults": {
            const input = json() as { receiver?: unknown; fault?: unknown };
            if (typeof input.receiver !== "string")
              return problem(res, 400, 'receiver: required, a receiver name such as "slack"');
            const { fault } = input;
            if (fault === null || fault === undefined || typeof fault === "string")
              core.setFault(input.receiver, fault ?? null);
            else if (Number.isInteger(fault)) core.setFault(input.receiver, String(fault));
            else
              return problem(
                res,
                400,
                `fault ${JSON.stringify(fault)}: expected a string such as "500" or "503x2", or null`,
              );
            return sendJson(res, 200, { ok: true });
          }
          case "POST /api/scenario":
            if (core.scenarioPlaying()) return problem(res, 409, SCENARIO_BUSY);
            void core.replay();
            return sendJson(res, 202, { ok: true });
          default:
            return problem(res, 404, `no route ${route}`);
        }
      } catch (err: unknown) {
        const status = (err as { status?: number }).status ?? 400;
        return problem(res, status, err instanceof Error ? err.message : String(err));
      }
    }, port);
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new Error(`port ${port} is in use; pass --port <another>`, { cause: err });
    }
    throw err;
  }
  return { url: server.url, port: server.port, close: () => server.close() };
}

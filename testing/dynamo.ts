/**
 * DynamoDB for tests and the sandbox: dynalite (an in-memory DynamoDB that speaks the real
 * awsJson1_0 protocol), and the audit table created through the real SDK exactly as the
 * infrastructure declares it.
 */
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import { crc32 } from "node:zlib";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";

import { AUDIT_TABLE_SCHEMA } from "../handlers/store/keys";
import { sendDenial } from "./aws/core";
import {
  createDynamoFaults,
  sendThrottled,
  SINGLE_ITEM_WRITES,
  type DynamoFaults,
} from "./dynamo-faults";
import {
  invalidReturnOnCondition,
  refusingItem,
  wantsRefusingItem,
} from "./dynamo-return-on-condition";
import { accessKeyOf, type IamEnforcer } from "./iam/enforce";
import { DYNAMODB_TARGET, dynamoCall } from "./iam/requests";

// dynalite ships no types: it is a factory of http.Server.
const dynalite = require("dynalite") as (options: Record<string, unknown>) => Server;

/** The audit table as the infrastructure declares it (handlers/store/keys.ts). */
const S = AUDIT_TABLE_SCHEMA;

/** Options of {@link startDynalite}. */
export interface DynaliteOptions {
  /** Port on 127.0.0.1; 0 (default) = random. */
  port?: number;
  /**
   * IAM enforcement: when given, a checking proxy stands in front of dynalite and answers a
   * call the caller's role does not allow with DynamoDB's `AccessDeniedException` (400) before
   * dynalite sees it (testing/iam/enforce.ts).
   */
  iam?: IamEnforcer;
}

export type {
  DynamoFaults,
  DynamoOperationCount,
  DynamoThrottleCode,
  DynamoThrottling,
} from "./dynamo-faults";
export { DYNAMODB_DATA_OPERATIONS, DYNAMODB_THROTTLE_CODES } from "./dynamo-faults";

/** A running dynalite. */
export interface Dynalite {
  /** `http://127.0.0.1:<port>`: the `endpoint` option or `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  port: number;
  /**
   * Throttling injection and per-operation call counts (testing/dynamo-faults.ts): every
   * request passes the proxy, whether IAM is enforced or not.
   */
  faults: DynamoFaults;
  close(): Promise<void>;
}

/**
 * Starts an in-memory dynalite on 127.0.0.1. Tables become ACTIVE at once (no 500 ms CREATING
 * phase), so a test can write right after creating one.
 */
export async function startDynalite(opts: DynaliteOptions = {}): Promise<Dynalite> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") {
    throw new Error("dynalite: server has no TCP address");
  }
  const faults = createDynamoFaults(S.index.hashKey);
  const proxy = await startProxy(opts.iam, faults, address.port, sockets);
  const port = (proxy.address() as { port: number }).port;
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    faults,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      // SDK clients keep connections alive; without destroying them close() would wait for them.
      const stopped = new Promise<void>((resolve, reject) =>
        server.close((err?: Error) => (err ? reject(err) : resolve())),
      );
      const proxyStopped = new Promise<void>((resolve) => proxy.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await Promise.all([stopped, proxyStopped]);
    },
  };
}

/** Reads a request body. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * The proxy in front of dynalite: when a program's IAM is loaded, authorizes each DynamoDB
 * request (action from `X-Amz-Target`, resource = table or index ARN, `dynamodb:LeadingKeys` from
 * the request's partition key); then counts it and applies the injected throttling (after
 * authorization, as in AWS), and forwards the rest to dynalite — single-item writes through
 * {@link forwardBilled}, which also answers `ReturnValuesOnConditionCheckFailure` (dynalite
 * ignores it), everything else unchanged.
 */
async function startProxy(
  iam: IamEnforcer | undefined,
  faults: DynamoFaults,
  target: number,
  sockets: Set<Socket>,
): Promise<Server> {
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const upstream = request(
      { host: "127.0.0.1", port: target, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        // Buffered, not piped: a late reply holds the whole answer (holdAnswer).
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on("error", () => res.destroy());
    upstream.end(body);
  };
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const declared = iam?.loaded;
      const operation = String(req.headers["x-amz-target"] ?? "");
      if (iam && declared && operation.startsWith(DYNAMODB_TARGET)) {
        let input: Record<string, unknown> = {};
        try {
          input = JSON.parse(body.toString("utf8") || "{}") as Record<string, unknown>;
        } catch {
          // dynalite answers the SerializationException.
        }
        const call = dynamoCall(declared, operation.slice(DYNAMODB_TARGET.length), input);
        const denial = iam.authorize(accessKeyOf(req.headers.authorization), [call]);
        if (denial) return sendDenial(res, "awsJson1_0", denial);
      }
      if (operation.startsWith(DYNAMODB_TARGET)) {
        const op = operation.slice(DYNAMODB_TARGET.length);
        const throttled = faults.decide(op, body.toString("utf8"));
        if (throttled) return sendThrottled(res, throttled);
        const late = faults.takeLateReply(op, body.toString("utf8"));
        if (late && !late.applied) return dropLater(res, late.delayMs);
        if (late) holdAnswer(res, late.delayMs);
        if (SINGLE_ITEM_WRITES.has(op))
          return forwardBilled(req, res, body, target, op, (i, u) => faults.bill(op, i, u));
      }
      forward(req, res, body);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return server;
}

/**
 * Makes `res` hold its answer `delayMs` after it was given (testing/dynamo-faults.ts
 * `DynamoLateReply`), then send it only if the caller still waits: the request was applied, the
 * answer comes late or never.
 */
function holdAnswer(res: ServerResponse, delayMs: number): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  let head: unknown[] = [];
  let gone = false;
  res.on("close", () => (gone = true));
  res.writeHead = ((...args: unknown[]) => {
    head = args;
    return res;
  }) as typeof res.writeHead;
  res.end = ((...args: unknown[]) => {
    setTimeout(() => {
      if (gone || res.destroyed) return;
      writeHead(...head);
      end(...args);
    }, delayMs).unref();
    return res;
  }) as typeof res.end;
}

/** Holds a request that never reaches dynalite for `delayMs`, then resets its connection. */
function dropLater(res: ServerResponse, delayMs: number): void {
  setTimeout(() => res.destroy(), delayMs).unref();
}

/**
 * Forwards a single-item write asking dynalite for its `ConsumedCapacity` (TOTAL: the write
 * units of the larger of the item before and after), hands the units to `bill`, and answers the
 * caller what DynamoDB would have: without `ConsumedCapacity` unless it asked for it, with
 * `content-length` and `x-amz-crc32` (DynamoDB's CRC32 of the body) recomputed. An answer that
 * is not JSON, or has no capacity (a failed condition), bills 1 unit. A write refused by its
 * condition that asked `ReturnValuesOnConditionCheckFailure: ALL_OLD` gets the stored item as the
 * error's `Item`, read behind the proxy (unbilled, uncounted: testing/dynamo-return-on-condition.ts);
 * an invalid value of that parameter is answered with DynamoDB's ValidationException, unbilled.
 */
function forwardBilled(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  target: number,
  operation: string,
  bill: (input: Record<string, any>, tableUnits: number) => void,
): void {
  let input: Record<string, any>;
  try {
    input = JSON.parse(body.toString("utf8")) as Record<string, any>;
  } catch {
    input = {};
  }
  const invalid = invalidReturnOnCondition(input);
  if (invalid) return sendValidationError(res, invalid);
  const asked = input.ReturnConsumedCapacity;
  const sent = Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: "TOTAL" }));
  const headers = { ...req.headers, "content-length": String(sent.length) };
  const upstream = request(
    { host: "127.0.0.1", port: target, method: req.method, path: req.url, headers },
    (answer) => {
      const chunks: Buffer[] = [];
      answer.on("data", (c: Buffer) => chunks.push(c));
      answer.on("end", async () => {
        let out = Buffer.concat(chunks);
        let units = 1;
        try {
          const parsed = JSON.parse(out.toString("utf8") || "{}") as Record<string, any>;
          units = Number(parsed.ConsumedCapacity?.CapacityUnits ?? 1) || 1;
          if (asked === undefined || asked === "NONE") delete parsed.ConsumedCapacity;
          if (wantsRefusingItem(input, parsed)) {
            const item = await refusingItem(target, req.headers, operation, input);
            if (item) parsed.Item = item;
          }
          out = Buffer.from(JSON.stringify(parsed));
        } catch {
          // Not JSON: passed on as it came.
        }
        bill(input, units);
        res.writeHead(answer.statusCode ?? 500, {
          ...answer.headers,
          "content-length": String(out.length),
          "x-amz-crc32": String(crc32(out)),
        });
        res.end(out);
      });
    },
  );
  upstream.on("error", () => res.destroy());
  upstream.end(sent);
}

/** Answers DynamoDB's ValidationException (HTTP 400, awsJson 1.0 error body). */
function sendValidationError(res: ServerResponse, message: string): void {
  const out = Buffer.from(
    JSON.stringify({ __type: "com.amazon.coral.validate#ValidationException", message }),
  );
  res.writeHead(400, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": String(out.length),
    "x-amz-crc32": String(crc32(out)),
  });
  res.end(out);
}

/**
 * Creates the audit table as the infrastructure declares it: `pk`/`sk` (S), GSI `byExecution` on
 * `gsi1pk`/`gsi1sk` (S) projecting ALL, on-demand billing, TTL on `expiresAt`. dynalite does not
 * implement UpdateTimeToLive; that step is skipped there (TTL never fires in tests anyway).
 */
export async function createAuditTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? "us-east-1",
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "standin",
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "standin",
    },
  });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [S.hashKey, S.rangeKey, S.index.hashKey, S.index.rangeKey].map(
          (name) => ({ AttributeName: name, AttributeType: "S" as const }),
        ),
        KeySchema: [
          { AttributeName: S.hashKey, KeyType: "HASH" },
          { AttributeName: S.rangeKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: S.index.name,
            KeySchema: [
              { AttributeName: S.index.hashKey, KeyType: "HASH" },
              { AttributeName: S.index.rangeKey, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    );
    await waitActive(client, tableName);
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: S.ttlAttribute, Enabled: true },
        }),
      );
    } catch (err: unknown) {
      // dynalite answers UnknownOperationException; anything else is a real problem.
      const name = err instanceof Error ? err.name : "";
      if (name !== "UnknownOperationException") {
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`audit table ${tableName}: enabling TTL failed: ${message}`, {
          cause: err,
        });
      }
    }
  } finally {
    client.destroy();
  }
}

/** Polls until the table and its index are ACTIVE (immediate with createTableMs: 0). */
async function waitActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === "ACTIVE",
    );
    if (Table?.TableStatus === "ACTIVE" && indexesActive) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`audit table ${tableName}: not ACTIVE after creation`);
}

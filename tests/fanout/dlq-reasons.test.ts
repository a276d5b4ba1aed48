/**
 * Every DLQ message carries its reason, whatever was down (issue 12). When DynamoDB or Secrets
 * Manager stays down for all of a record's receives, the fan-out dead-letters the record itself on
 * its last receive (ApproximateReceiveCount >= maxReceiveCount = 4) with a redacted reason naming
 * the failing service, and reports it processed — so SQS's native redrive, which would move it
 * without any reason, never has to. Only when the DLQ send fails too does the record go back to
 * SQS. Counted: exactly one DLQ message per record, none without a reason.
 *
 * The outages are played by switchable proxies in front of the local stand-ins (the SDK reaches
 * them through AWS_ENDPOINT_URL_DYNAMODB / _SQS): DynamoDB answers every call with
 * ProvisionedThroughputExceededException (HTTP 400, awsJson1_0 `__type`; DynamoDB API reference,
 * "Common errors" and PutItem/UpdateItem "Errors"), SQS resets every connection; Secrets Manager
 * fails through testing/aws's fault injection with InternalServiceError (HTTP 500; Secrets Manager
 * API reference, GetSecretValue "Errors").
 */
import { createServer, request, type Server } from "node:http";
import type { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { REMINDER_SCAN_INPUT } from "../../handlers/contracts/reminder-scan";
import { event, record, startFanoutWorld, type FanoutWorld } from "../support/fanout";

/** What a switchable proxy does with each request. */
type Mode = "pass" | "throttle" | "reset";

interface Switch {
  endpoint: string;
  mode: Mode;
  requests: number;
  close(): Promise<void>;
}

/** DynamoDB's answer to a throttled request (awsJson1_0 error shape). */
const THROTTLED = {
  __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
  message:
    "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
};

/** A proxy in front of `target` that passes, throttles (DynamoDB's error) or resets requests. */
async function switchable(target: string): Promise<Switch> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      sw.requests++;
      if (sw.mode === "reset") {
        req.socket.destroy();
        return;
      }
      if (sw.mode === "throttle") {
        res.writeHead(400, {
          "content-type": "application/x-amz-json-1.0",
          "x-amzn-errortype": "ProvisionedThroughputExceededException",
        });
        res.end(JSON.stringify(THROTTLED));
        return;
      }
      const upstream = request(
        { host: hostname, port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const sw: Switch = {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    mode: "pass",
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return sw;
}

/**
 * AWS time / local time in this file (http.ts `scaledMs`), as `npm start` runs the fan-out
 * (sandbox/wiring.ts `scaleTimes`: the function timeout divided too). A receive of a record whose
 * DynamoDB calls all fail retries them until its deadline (remaining time minus a 3 AWS-second
 * margin), then its marks until 2 AWS seconds after it: at scale 1 each such receive took 19 s of
 * waiting, here 1.9 s (the sandbox runs at 50; its local round trips keep real-time floors,
 * http.ts `roundTripTimeoutMs`).
 */
const SCALE = 10;
/** The fan-out's remaining time at each receive: 20 AWS seconds (ms, this clock). */
const REMAINING_MS = 20_000 / SCALE;
/**
 * The remaining time of the receives whose every attempt must reach the Slack stand-in (ms, this
 * clock): 5 s, as before at scale 4. Each of the 4 is counted as Slack's failure only when it got
 * past the secrets, the claims and its send slot before its deadline, which 20 AWS seconds here
 * (a 1.7 s deadline) may not leave on a busy machine. (A DynamoDB outage that ends has 2 receives
 * left to deliver in, which took about 0.1 s each.)
 */
const DELIVERING_MS = 5000;

let world: FanoutWorld;
let dynamo: Switch;
let sqs: Switch;
const saved = { ...process.env };

beforeAll(async () => {
  // Before the handler's first call: its SDK clients take their timeouts from the scale.
  process.env.TIME_SCALE = String(SCALE);
  world = await startFanoutWorld();
  dynamo = await switchable(world.standins.dynamo.endpoint);
  sqs = await switchable(process.env.AWS_ENDPOINT_URL_SQS as string);
  // Before the handler's first call: its clients are created lazily, once per cold start.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
});
afterAll(async () => {
  await dynamo?.close();
  await sqs?.close();
  await world?.close();
  process.env = saved;
});
beforeEach(async () => {
  world.reset();
  world.lines.length = 0;
  dynamo.mode = "pass";
  sqs.mode = "pass";
  // Send slots afresh (issue 11 pacing: PACE#<channel> items outlive a test in the table).
  await world.forgetPacing();
});

/** A prod failure of main-app-production-v3 (3 channels: PagerDuty, Slack, SMS). */
function prodFailure() {
  const executionId = randomUUID();
  return event("pipeline-failed", { "execution-id": executionId }, { id: randomUUID() });
}

const dlq = () => world.standins.aws.state.sqs.sent;
/** EMF counts of `metric` the handler emitted, with their dimensions. */
const counts = (metric: string): Record<string, unknown>[] =>
  world.lines
    .filter((l) => l._aws && typeof l[metric] === "number")
    .map((l) => ({
      value: l[metric],
      ...Object.fromEntries(
        l._aws.CloudWatchMetrics[0].Dimensions[0].map((k: string) => [k, l[k]]),
      ),
    }));
/** Every DLQ message without a usable reason (missing, empty or the "-" placeholder). */
const withoutReason = () =>
  dlq().filter((m) => !m.attributes.reason || m.attributes.reason === "-");

// First in the file: the channel secret is cached for 5 minutes per cold start once it was read.
it("Secrets Manager down for 4 receives: exactly one DLQ message, its reason naming Secrets Manager", async () => {
  world.standins.aws.faults.secretsmanager = {
    code: "InternalServiceError",
    status: 500,
    message: "An error occurred on the server side.",
  };
  const ev = prodFailure();

  const left = await world.drain([ev], { remainingMs: REMAINING_MS });

  // Nothing left for SQS's native redrive: the 4th receive was dead-lettered and reported done.
  expect(left).toEqual([]);
  expect(dlq()).toHaveLength(1);
  expect(withoutReason()).toEqual([]);
  const [parked] = dlq();
  expect(JSON.parse(parked.body)).toEqual(ev);
  expect(parked.queueUrl).toBe(process.env.DEAD_LETTER_QUEUE_URL);
  expect(parked.attributes).toMatchObject({
    failedService: "Secrets Manager",
    receiveCount: "4",
  });
  expect(parked.attributes.reason).toMatch(
    /^Secrets Manager: InternalServiceError: An error occurred on the server side\./,
  );
  // Nothing was sent without its secrets.
  for (const receiver of ["slack", "pagerduty"] as const) {
    expect(world.standins.receivers.byReceiver(receiver)).toEqual([]);
  }
  expect(world.standins.aws.state.sns.published).toEqual([]);
  expect(counts("BookkeepingFailed")).toEqual(
    Array.from({ length: 4 }, () => ({ value: 1, Service: "Secrets Manager" })),
  );
  expect(counts("DeadLettered")).toEqual([{ value: 1, Component: "fanout" }]);
}, 60_000);

// Before any test whose channel secrets may be read (and cached for 5 minutes).
it("a webhook URL echoed in a failing dependency's message never reaches the DLQ reason", async () => {
  // The secrets could not be read, so only what redact() recognizes by shape is removed: a URL's
  // path and query (a Slack webhook URL is its secret).
  const secret = Object.values(world.config.channelSecrets["slack-eng"] ?? {})[0] as string;
  expect(secret).toMatch(/^https?:\/\//);
  expect(secret).toBeTruthy();
  world.standins.aws.faults.secretsmanager = {
    code: "InternalServiceError",
    status: 500,
    message: `upstream said ${secret}`,
  };
  const ev = prodFailure();

  const out = await world.invoke([record(ev, "echo-1", 4)], REMAINING_MS);

  expect(out.batchItemFailures).toEqual([]);
  expect(dlq()).toHaveLength(1);
  expect(JSON.stringify(dlq()[0].attributes)).not.toContain(secret);
  expect(dlq()[0].attributes.reason).toMatch(
    /^Secrets Manager: InternalServiceError: upstream said/,
  );
}, 60_000);

it("DynamoDB throttled for 4 receives: exactly one DLQ message, its reason naming DynamoDB", async () => {
  dynamo.mode = "throttle";
  const ev = prodFailure();

  const left = await world.drain([ev], { remainingMs: REMAINING_MS });

  expect(left).toEqual([]);
  expect(dynamo.requests).toBeGreaterThan(0);
  expect(dlq()).toHaveLength(1);
  expect(withoutReason()).toEqual([]);
  const [parked] = dlq();
  expect(JSON.parse(parked.body)).toEqual(ev);
  expect(parked.attributes).toMatchObject({ failedService: "DynamoDB", receiveCount: "4" });
  expect(parked.attributes.reason).toMatch(
    /^DynamoDB: ProvisionedThroughputExceededException: The level of configured provisioned throughput/,
  );
  expect(counts("BookkeepingFailed")).toEqual(
    Array.from({ length: 4 }, () => ({ value: 1, Service: "DynamoDB" })),
  );
  expect(counts("DeadLettered")).toEqual([{ value: 1, Component: "fanout" }]);
}, 90_000);

it("before the last receive, a DynamoDB failure is retried, never dead-lettered", async () => {
  dynamo.mode = "throttle";
  const ev = prodFailure();

  const out = await world.invoke([record(ev, "early-1", 3)], REMAINING_MS);

  expect(out.batchItemFailures).toEqual([{ itemIdentifier: "early-1" }]);
  expect(dlq()).toEqual([]);
}, 60_000);

it("when the DLQ send fails too, the record fails back to SQS (and nothing reaches the DLQ)", async () => {
  dynamo.mode = "throttle";
  sqs.mode = "reset";
  const ev = prodFailure();

  const out = await world.invoke([record(ev, "last-1", 4)], REMAINING_MS);

  expect(out.batchItemFailures).toEqual([{ itemIdentifier: "last-1" }]);
  expect(sqs.requests).toBeGreaterThan(0);
  expect(dlq()).toEqual([]);
  expect(counts("DeadLettered")).toEqual([]);
}, 60_000);

it("DynamoDB unreachable (connections reset) on the last receive: the reason still names DynamoDB", async () => {
  // A network error names no service (no DynamoDBServiceException): the fan-out marks every
  // error of its DynamoDB client as DynamoDB's.
  dynamo.mode = "reset";
  const ev = prodFailure();

  const out = await world.invoke([record(ev, "reset-1", 4)], REMAINING_MS);

  expect(out.batchItemFailures).toEqual([]);
  expect(dlq()).toHaveLength(1);
  expect(dlq()[0].attributes).toMatchObject({ failedService: "DynamoDB", receiveCount: "4" });
  expect(dlq()[0].attributes.reason).toMatch(/^DynamoDB: \S/);
  expect(withoutReason()).toEqual([]);
}, 60_000);

it("a reminder scan failing on its last receive is dead-lettered with a reason too", async () => {
  dynamo.mode = "throttle";

  const early = await world.invoke([record(REMINDER_SCAN_INPUT, "scan-3", 3)], REMAINING_MS);
  const last = await world.invoke([record(REMINDER_SCAN_INPUT, "scan-4", 4)], REMAINING_MS);

  expect(early.batchItemFailures).toEqual([{ itemIdentifier: "scan-3" }]);
  expect(last.batchItemFailures).toEqual([]);
  expect(dlq()).toHaveLength(1);
  expect(dlq()[0].body).toBe(REMINDER_SCAN_INPUT);
  expect(dlq()[0].attributes.reason).toMatch(/^approval reminder scan: failed on every receive/);
  expect(withoutReason()).toEqual([]);
}, 60_000);

// Last: it reads (and caches) the channel secrets.
it("a DynamoDB outage that ends before the last receive delivers, and parks nothing", async () => {
  dynamo.mode = "throttle";
  const ev = prodFailure();

  const left = await world.drain([ev], {
    remainingMs: REMAINING_MS,
    between: (attempt) => {
      if (attempt === 3) dynamo.mode = "pass";
    },
  });

  expect(left).toEqual([]);
  expect(dlq()).toEqual([]);
  expect(world.standins.receivers.byReceiver("pagerduty")).toHaveLength(1);
}, 90_000);

it("Slack down for 4 receives: one DLQ message with Slack's reason, counted as a DLQ send", async () => {
  world.standins.receivers.setFault("slack", { status: 503 });
  const ev = prodFailure();

  // Between two receives SQS waits out the visibility timeout (far longer than Slack's 1 s
  // refill), so each receive finds a send slot: back to back, 4 receives would spend Slack's
  // burst of 2 (fanout/pace.ts) and the later ones would be paced instead of attempted.
  const left = await world.drain([ev], {
    remainingMs: DELIVERING_MS,
    between: () => world.forgetPacing(),
  });

  expect(left).toEqual([]);
  expect(dlq()).toHaveLength(1);
  expect(withoutReason()).toEqual([]);
  expect(dlq()[0].attributes.reason).toMatch(/^slack-eng: .*503/);
  expect(counts("DeadLettered")).toEqual([{ value: 1, Component: "fanout" }]);
  // Each receive counted Slack's failure for its channel alarm.
  expect(counts("Failed").filter((c) => c.Channel === "slack-eng")).toHaveLength(4);
}, 60_000);

it("a receiver's error text with control characters still reaches the DLQ as its reason (SQS refuses them in attributes)", async () => {
  // Prepare: Slack's 503 body carries a terminal colour escape and a NUL, which SQS does not
  // allow in a message or a String attribute value (SendMessage `MessageBody`;
  // MessageAttributeValue: "the same restrictions on the content as the message body").
  world.standins.receivers.setFault("slack", {
    status: 503,
    body: "\u001b[31mupstream unavailable\u001b[0m\u0000",
  });
  const ev = prodFailure();

  // Act
  const left = await world.drain([ev], {
    remainingMs: DELIVERING_MS,
    between: () => world.forgetPacing(),
  });

  // Assess: parked by the fan-out with Slack's reason, not left to SQS's redrive without one.
  expect(left).toEqual([]);
  expect(dlq()).toHaveLength(1);
  expect(withoutReason()).toEqual([]);
  expect(dlq()[0].attributes.reason).toMatch(/^slack-eng: .*503.*upstream unavailable/);
}, 60_000);

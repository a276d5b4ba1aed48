/**
 * The SNS channels (sms, email) through the real SDK client, pointed at a local SNS endpoint with
 * `AWS_ENDPOINT_URL_SNS`: what each SNS answer means for a retry, and what reaches the topic.
 */
import { emailDriver, EMAIL_LIMITS } from "../../handlers/channels/email";
import { formatSms, isGsm7, smsDriver, SMS_MAX_CHARS, toGsm7 } from "../../handlers/channels/sms";
import type { ChannelDriver } from "../../handlers/channels/types";
import { isDeliveryError } from "../../handlers/http";
import type { ChannelConfig, Notification } from "../../handlers/types";
import {
  FIXTURE_NAMES,
  errorText,
  fixture,
  localSns,
  makeContext,
  rejectionOf,
  replyWith,
  snsError,
  snsParams,
  snsPublishOk,
  startServer,
  type LocalServer,
  type Reply,
} from "./helpers";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:deploy-notifier-oncall-sms";

const DRIVERS: [string, ChannelDriver<any>, ChannelConfig][] = [
  ["sms", smsDriver, { type: "sms", phoneNumbers: ["+15555550100"] }],
  ["email", emailDriver, { type: "email", addresses: ["oncall@example.com"] }],
];

const CASES: [string, Reply, { retryable: boolean; status?: number } | "success"][] = [
  ["published", snsPublishOk("msg-0001"), "success"],
  [
    "Throttling (400)",
    snsError(400, "Throttling", "Rate exceeded"),
    { retryable: true, status: 400 },
  ],
  [
    "ThrottledException (429)",
    snsError(429, "ThrottledException", "Rate exceeded"),
    { retryable: true, status: 429 },
  ],
  [
    "InternalError (500)",
    snsError(500, "InternalError", "internal"),
    { retryable: true, status: 500 },
  ],
  [
    "503 unavailable",
    snsError(503, "ServiceUnavailable", "unavailable"),
    { retryable: true, status: 503 },
  ],
  [
    "InvalidParameter (400)",
    snsError(400, "InvalidParameter", "Invalid parameter: Message"),
    { retryable: false, status: 400 },
  ],
  [
    "AuthorizationError (403)",
    snsError(403, "AuthorizationError", "not authorized to perform SNS:Publish"),
    { retryable: false, status: 403 },
  ],
  [
    "NotFound (404)",
    snsError(404, "NotFound", "Topic does not exist"),
    { retryable: false, status: 404 },
  ],
  ["connection reset", "reset", { retryable: true }],
];

describe.each(DRIVERS)("%s over SNS", (type, driver, config) => {
  let server: LocalServer;
  beforeEach(async () => {
    server = await startServer(replyWith("reset"));
  });
  afterEach(async () => {
    await server.close();
  });

  it.each(CASES)("%s", async (_name, reply, expected) => {
    // Prepare
    await server.close();
    server = await startServer(replyWith(reply));
    const { ctx, lines } = makeContext(config, {}, { sns: localSns(server.url), topicArn: TOPIC });
    const n = fixture("failure-hostile");

    // Act
    let error: unknown;
    let receipt;
    try {
      receipt = await driver.send(n, ctx);
    } catch (e: unknown) {
      error = e;
    }

    // Assess: one Publish to the channel's topic
    expect(server.requests).toHaveLength(1);
    const params = snsParams(server.requests[0].body);
    expect(params).toMatchObject({ Action: "Publish", TopicArn: TOPIC });
    if (expected === "success") {
      expect(error).toBeUndefined();
      expect(receipt).toMatchObject({ channel: ctx.name, type, id: "msg-0001" });
      return;
    }
    if (!isDeliveryError(error)) throw new Error(`expected a DeliveryError, got ${String(error)}`);
    expect(error).toMatchObject({ channel: ctx.name, retryable: expected.retryable });
    expect(error.status).toBe(expected.status);
    expect(error.message.startsWith(`${type} ${ctx.name}: SNS `)).toBe(true);
    expect(lines.some((l) => l.level === "warn")).toBe(true);
  });

  it("without a topic, fails permanently before calling SNS", async () => {
    const { ctx } = makeContext(config, {}, { sns: localSns(server.url) });
    const error = await rejectionOf(() => driver.send(fixture("success"), ctx));
    expect(error).toMatchObject({ name: "DeliveryError", retryable: false });
    expect(server.requests).toHaveLength(0);
  });
});

describe("sms text", () => {
  it.each(FIXTURE_NAMES)("%s fits one GSM-7 segment", (name) => {
    // Act
    const { message } = formatSms(fixture(name));
    // Assess
    expect(message.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
    expect(isGsm7(message)).toBe(true);
    expect(message).toMatch(
      /^(FAILED|FAILED AGAIN \(attempt \d+\)|REJECTED|SUCCEEDED|ROLLED BACK|APPROVAL NEEDED|APPROVAL EXPIRED|SUPERSEDED|CANCELED|STOPPED) main-app-production-v3/,
    );
  });

  it("leads with what happened, where, and cuts visibly at a word", () => {
    // Prepare: "ResourceNotFoundException" straddles character 137, the last before "...".
    const head = "FAILED main-app-production-v3 @Deploy/DeployECS: ";
    const words = "Stack update failed: the resource handler returned ";
    const filler = "a".repeat(SMS_MAX_CHARS - 3 - head.length - words.length - 10 - 1);
    const summary = `${words}${filler} ResourceNotFoundException: Bucket deploy-artifacts not found`;
    const n: Notification = { ...fixture("failure-hostile"), summary };
    // Act
    const { message } = formatSms(n);
    // Assess: the error name is left out whole, not shown as "ResourceNo".
    expect(message).toBe(`${head}${words}${filler}...`);
  });

  it("leaves out a word too long for the room whole, rather than a fragment of it", () => {
    // Prepare: a summary of one 500-character word (a pasted blob, no name a reader can use).
    const n: Notification = { ...fixture("failure-hostile"), summary: "x".repeat(500) };
    // Act
    const { message } = formatSms(n);
    // Assess
    expect(message).toBe("FAILED main-app-production-v3 @Deploy/DeployECS...");
  });

  it("keeps the stage and leaves out an action name that does not fit, whole", () => {
    // Prepare: an action name of 100 characters, the most CodePipeline allows (quotas).
    const action = `DeployToProduction${"Canary".repeat(13)}EuW1`;
    const n: Notification = { ...fixture("failure-hostile"), action, summary: "Build failed" };
    // Act
    const { message } = formatSms(n);
    // Assess
    expect(message).toBe("FAILED main-app-production-v3 @Deploy...");
  });

  it("never calls a rejection a failure", () => {
    const { message } = formatSms(fixture("rejection"));
    expect(
      message.startsWith(
        "REJECTED main-app-production-v3 @Approve/ManualApproval by Jane Doe (U012ABC)",
      ),
    ).toBe(true);
    expect(message).not.toMatch(/fail/i);
  });

  it.each([
    ["curly quotes", "“web” ‘app’", `"web" 'app'`],
    ["dashes and ellipsis", "a – b — c…", "a - b - c..."],
    ["accents outside GSM-7", "naïve façade Ångström São Paulo", "naive facade Ångström Sao Paulo"],
    ["accents inside GSM-7 kept", "café Müller", "café Müller"],
    ["emoji dropped", "deploy 🚀 done ✅", "deploy done"],
    ["non-Latin dropped", "ok; 日本語; Ошибка; end", "ok; end"],
    [
      "an ARN's empty fields kept",
      "arn:aws:sts::123456789012:assumed-role/r/s",
      "arn:aws:sts::123456789012:assumed-role/r/s",
    ],
    ["extension-table characters replaced", "a[b]{c}|d~e^f\\g€", "a(b)(c)/d-ef/gEUR"],
    ["newlines and tabs flattened", "line1\n\tline2\r\nline3", "line1 line2 line3"],
    ["backtick is not GSM-7", "`code`", "'code'"],
  ])("toGsm7: %s", (_name, input, expected) => {
    // Act
    const out = toGsm7(input);
    // Assess
    expect(out).toBe(expected);
    expect(isGsm7(out)).toBe(true);
  });

  it("isGsm7 rejects what would switch the message to UCS-2", () => {
    expect(isGsm7("plain @ £ $ _ Ä é")).toBe(true);
    for (const s of ["🚀", "“", "…", "é".normalize("NFD"), "[", "€", "日"])
      expect(isGsm7(s)).toBe(false);
  });

  it("is delivered as a transactional SMS to the topic", async () => {
    // Prepare
    const server = await startServer(replyWith(snsPublishOk("msg-sms")));
    try {
      const { ctx } = makeContext(
        { type: "sms", phoneNumbers: [] },
        {},
        { sns: localSns(server.url), topicArn: TOPIC },
      );
      const n: Notification = {
        ...fixture("failure-revision"),
        summary: `“hostile” 🚀 ${"ü".repeat(300)}`,
      };
      // Act
      const receipt = await smsDriver.send(n, ctx);
      // Assess
      const params = snsParams(server.requests[0].body);
      expect(params.Message.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
      expect(isGsm7(params.Message)).toBe(true);
      expect(params).toMatchObject({
        "MessageAttributes.entry.1.Name": "AWS.SNS.SMS.SMSType",
        "MessageAttributes.entry.1.Value.StringValue": "Transactional",
      });
      expect(receipt).toMatchObject({ id: "msg-sms", truncated: true });
    } finally {
      await server.close();
    }
  });
});

describe("email", () => {
  it.each(FIXTURE_NAMES)("%s: subject is short ASCII on one line", (name) => {
    const { subject } = emailDriver.format(fixture(name), { type: "email", addresses: [] }) as {
      subject: string;
    };
    expect(subject.length).toBeLessThanOrEqual(EMAIL_LIMITS.subject);
    expect(subject).toMatch(/^\[deploy-notifier\] [\x20-\x7e]+$/);
  });

  it("delivers a 200 kB summary cut visibly, with subject and links", async () => {
    // Prepare
    const server = await startServer(replyWith(snsPublishOk("msg-mail")));
    try {
      const { ctx, lines } = makeContext(
        { type: "email", addresses: [] },
        {},
        { sns: localSns(server.url), topicArn: TOPIC },
      );
      const n: Notification = {
        ...fixture("failure-hostile"),
        pipeline: `p-${"é".repeat(200)}`,
        summary: "y".repeat(200_000),
      };
      // Act
      const receipt = await emailDriver.send(n, ctx);
      // Assess
      const params = snsParams(server.requests[0].body);
      expect(params.Subject.length).toBeLessThanOrEqual(EMAIL_LIMITS.subject);
      expect(params.Subject).toMatch(/^[\x20-\x7e]+$/);
      expect(params.Message).toContain("y…");
      expect(params.Message).toContain(`Execution: ${n.consoleUrl}`);
      expect(Buffer.byteLength(params.Message)).toBeLessThan(256 * 1024);
      expect(receipt).toMatchObject({ id: "msg-mail", truncated: true });
      expect(lines.some((l) => l.level === "warn" && /truncated/.test(l.msg))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("leaks no error detail beyond the SNS code and message", async () => {
    // Prepare: an SNS error whose message quotes a URL with a token in it
    const server = await startServer(
      replyWith(
        snsError(
          400,
          "InvalidParameter",
          "bad endpoint https://hooks.example/SENTINEL?token=SENTINEL",
        ),
      ),
    );
    try {
      const { ctx, lines } = makeContext(
        { type: "email", addresses: [] },
        {},
        { sns: localSns(server.url), topicArn: TOPIC },
      );
      // Act
      const error = await rejectionOf(() => emailDriver.send(fixture("success"), ctx));
      // Assess
      expect(errorText(error)).not.toContain("SENTINEL");
      expect(JSON.stringify(lines)).not.toContain("SENTINEL");
    } finally {
      await server.close();
    }
  });
});

/**
 * Redaction before truncation, always (issue 12: "when a provider echoes a secret near the
 * 200-character cut of an error snippet, the first 21 characters of a 32-character key reach
 * logs, audit, the ledger and DLQ reasons"). `redactAndCut` is the one function every site that
 * shortens error text uses; the fan-out test proves it where the text ends up.
 */
import { randomUUID } from "node:crypto";
import { classifyResponse } from "../handlers/http";
import { redact, redactAndCut } from "../handlers/redact";
import { event, record, startFanoutWorld, type FanoutWorld } from "./support/fanout";

/** 32 characters, none of whose prefixes looks like a hex id, a UUID or an ISO time. */
const SECRET = "Zq_KvT9pLmN3xWb7RcYd2HsFg8JtQe4U";

/** Every prefix of `secret` of at least 4 characters that occurs in `text`. */
function leakedPrefixes(text: string, secret = SECRET): string[] {
  const out: string[] = [];
  for (let k = 4; k <= secret.length; k++) {
    if (text.includes(secret.slice(0, k))) out.push(secret.slice(0, k));
  }
  return out;
}

/** A 250-character body with {@link SECRET} starting at `at`. */
function bodyWithSecretAt(at: number): string {
  const body = `${"e".repeat(at)}${SECRET}`.padEnd(250, "e");
  expect(body).toHaveLength(250);
  expect(body.indexOf(SECRET)).toBe(at);
  return body;
}

const POSITIONS = Array.from({ length: 20 }, (_, i) => 180 + i);

describe("redactAndCut", () => {
  it("is 32 characters long, the secret of the issue", () => {
    expect(SECRET).toHaveLength(32);
  });

  it.each(POSITIONS)("leaves no prefix of a secret starting at %i of a 250-char body", (at) => {
    const out = redactAndCut(bodyWithSecretAt(at), [SECRET], 200);

    expect(leakedPrefixes(out)).toEqual([]);
    expect(out.length).toBeLessThanOrEqual(200);
    expect(out.endsWith("…")).toBe(true);
  });

  it("shows what cutting first did: the secret's beginning survived (the issue's 21 characters)", () => {
    // The old order, for the record: cut at 200, then redact what is left.
    const at = 179;
    const old = redact(`${bodyWithSecretAt(at).slice(0, 200)}…`, [SECRET]);
    expect(leakedPrefixes(old).pop()).toBe(SECRET.slice(0, 21));
    expect(leakedPrefixes(redactAndCut(bodyWithSecretAt(at), [SECRET], 200))).toEqual([]);
  });

  it("hides the beginning of a secret that text cut before it arrived ends with", () => {
    const capped = `upstream said: ${SECRET.slice(0, 12)}`;
    expect(redactAndCut(capped, [SECRET], 200)).toBe("upstream said: [redacted]");
  });

  it("keeps short text unchanged but for whitespace, and counts the mark in max", () => {
    expect(redactAndCut("  a\n b  ", [], 200)).toBe("a b");
    expect(redactAndCut("x".repeat(300), [], 200)).toHaveLength(200);
  });

  it("never cuts inside a surrogate pair", () => {
    const out = redactAndCut(`${"x".repeat(198)}😀 and more`, [], 200);
    expect(out).toBe(`${"x".repeat(198)}…`);
  });

  it("redacts URL- and JSON-encoded forms and URL paths before cutting", () => {
    const url = "https://hooks.example.com/services/T0/B0/Zq_KvT9pLmN3xWb7RcYd2HsFg8JtQe4U";
    const out = redactAndCut(`${"e".repeat(150)} ${encodeURIComponent(url)} tail`, [url], 200);
    expect(leakedPrefixes(out)).toEqual([]);
  });
});

describe("classifyResponse", () => {
  it.each(POSITIONS)("quotes the body redacted, then cut at 200 (secret at %i)", (at) => {
    const verdict = classifyResponse(400, bodyWithSecretAt(at), {}, [SECRET]);
    expect(verdict.outcome).toBe("permanent");
    const reason = (verdict as { reason: string }).reason;
    expect(reason.startsWith("HTTP 400: eee")).toBe(true);
    expect(leakedPrefixes(reason)).toEqual([]);
  });
});

describe("the fan-out, with a webhook that echoes its bearer token near the cut", () => {
  let world: FanoutWorld;

  beforeAll(async () => {
    world = await startFanoutWorld((raw) => {
      raw.channels["hook-ops"] = { type: "webhook" };
      raw.routing.critical = [...raw.routing.critical, "hook-ops"];
      raw.secrets["hook-ops"] = { url: "http://127.0.0.1:1/placeholder", bearerToken: SECRET };
    });
    const secrets = JSON.parse(JSON.stringify(world.config.channelSecrets));
    secrets["hook-ops"].url = world.standins.receivers.urlFor("webhook", "hook-ops");
    world.config.channelSecrets = secrets;
  });
  afterAll(() => world.close());
  // Each case is a lone failure: the webhook's pacing slots booked by the previous case are
  // forgotten, as they would be by the time the next real failure came.
  beforeEach(async () => {
    world.reset();
    await world.forgetPacing();
  });

  async function tableText(): Promise<string> {
    return JSON.stringify(await world.items());
  }

  it.each(POSITIONS)(
    "keeps every prefix of the secret (at %i of a 250-char body) out of audit, ledger, logs and DLQ",
    async (at) => {
      const executionId = randomUUID();
      const ev = event(
        "pipeline-failed",
        { pipeline: "main-app-production-v3", "execution-id": executionId },
        { id: randomUUID() },
      );
      // HTTP 400: permanent, so the event is parked in the DLQ at once with the reason.
      world.standins.receivers.setFault("webhook", { status: 400, body: bodyWithSecretAt(at) });
      world.lines.length = 0;

      await world.withLogLevel("DEBUG", () => world.invoke([record(ev, `m-${at}`)], 5000));

      const audit = (await world.audit()).filter((a) => a.executionId === executionId);
      const failed = audit.find((a) => a.action === "failed" && a.channel === "hook-ops");
      expect(failed?.result).toMatch(/HTTP 400: e+/);
      const ledger = JSON.parse(await tableText()).filter((i: { pk: string }) =>
        i.pk.startsWith("DELIVERY#"),
      );
      expect(JSON.stringify(ledger)).toContain("HTTP 400: eee");
      const logLine = world.lines.find((l) => l.message === "delivery failed");
      expect(JSON.stringify(logLine)).toContain("HTTP 400: eee");
      const parked = world.standins.aws.state.sqs.sent.find(
        (m) => JSON.parse(m.body).detail["execution-id"] === executionId,
      );
      expect(parked?.attributes.reason).toContain("hook-ops: ");

      expect(leakedPrefixes(JSON.stringify(audit))).toEqual([]);
      expect(leakedPrefixes(await tableText())).toEqual([]);
      expect(leakedPrefixes(JSON.stringify(world.lines))).toEqual([]);
      expect(leakedPrefixes(JSON.stringify(world.standins.aws.state.sqs.sent))).toEqual([]);
    },
    30_000,
  );
});

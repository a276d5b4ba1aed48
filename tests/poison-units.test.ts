/**
 * Poison input, unit by unit (issue 12): every string the event parser returns is well-formed
 * Unicode, so are the Slack payloads the approval Lambda parses, and every key fits DynamoDB's
 * byte limits whatever the input.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  normalizeReason,
  parseInteraction,
  parseViewSubmission,
} from "../handlers/approval/interaction";
import { snsDeliveryError } from "../handlers/channels/common";
import { emailDriver } from "../handlers/channels/email";
import { pagerdutyDedupKey } from "../handlers/channels/pagerduty";
import type { Notification } from "../handlers/types";
import {
  fixture as notificationFixture,
  localSns,
  makeContext,
  replyWith,
  snsParams,
  snsPublishOk,
  startServer,
} from "./channels/helpers";
import { parseEventBridgeEvent } from "../handlers/events";
import { wellFormed } from "../handlers/events/fields";
import {
  approvalKey,
  auditKey,
  deliveryKey,
  executionIndexKey,
  fitKey,
  incidentKey,
  MAX_PARTITION_KEY_BYTES,
  MAX_SORT_KEY_BYTES,
  outcomeKey,
  pendingApprovalKey,
  replayKey,
} from "../handlers/store/keys";

const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const isWellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Every string inside `value`. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) strings(v, out);
  }
  return out;
}

function fixture(name: string): Record<string, any> {
  const file = path.join(__dirname, "events", "codepipeline", `${name}.json`);
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** `value` with a lone high surrogate appended to every string, and a lone low one prepended. */
function poisoned(value: unknown): unknown {
  if (typeof value === "string") return `\uDE00${value}\uD83D`;
  if (Array.isArray(value)) return value.map(poisoned);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, poisoned(v)]));
  }
  return value;
}

describe("wellFormed (String.prototype.toWellFormed)", () => {
  it("replaces lone surrogates with U+FFFD and keeps pairs", () => {
    expect(wellFormed("a\uD83Db")).toBe("a\uFFFDb");
    expect(wellFormed("a\uDE00")).toBe("a\uFFFD");
    expect(wellFormed("😀 ok")).toBe("😀 ok");
    expect(wellFormed(`${"x".repeat(199)}\uD83D`)).toBe(`${"x".repeat(199)}\uFFFD`);
  });

  it("shows each bidi embedding, override and isolate as its code point, every time", () => {
    const text = "a\u202Ab\u202Bc\u202Cd\u202De\u202Ef\u2066g\u2067h\u2068i\u2069";
    const shown =
      "a[U+202A]b[U+202B]c[U+202C]d[U+202D]e[U+202E]f[U+2066]g[U+2067]h[U+2068]i[U+2069]";
    // Twice: a stateful (global) expression must not skip the second call's match.
    expect(wellFormed(text)).toBe(shown);
    expect(wellFormed(text)).toBe(shown);
    expect(wellFormed("\u202Eok")).toBe("[U+202E]ok");
    // Marks (LRM, RLM, ALM) and right-to-left text stay.
    expect(wellFormed("\u200E\u200F\u061C שלום")).toBe("\u200E\u200F\u061C שלום");
  });
});

describe("the event parser", () => {
  it.each(["action-codebuild-failed", "pipeline-started-git-trigger", "pipeline-stopped"])(
    "returns only well-formed strings when every string field of %s carries lone surrogates",
    (name) => {
      const ev = fixture(name);
      // Keep the fields the parser matches exactly (source, detail-type, region, time) valid.
      const body = JSON.stringify({
        ...ev,
        id: poisoned(ev.id),
        detail: {
          ...(poisoned(ev.detail) as object),
          state: ev.detail.state,
          region: ev.detail.region,
        },
      });
      expect(body).toMatch(/\\ud83d/); // JSON escapes: the text itself is ASCII

      const parsed = parseEventBridgeEvent(body);

      expect(parsed.ok).toBe(true);
      const all = strings(parsed);
      expect(all.length).toBeGreaterThan(5);
      expect(all.every(isWellFormed)).toBe(true);
      expect(all.filter((s) => s.includes("\uFFFD")).length).toBeGreaterThan(3);
    },
  );

  it("well-forms the raw (unescaped) lone surrogate of a build summary", () => {
    const ev = fixture("action-codebuild-failed");
    ev.detail["execution-result"]["external-execution-summary"] = `${"s".repeat(199)}\uD83D`;
    const parsed = parseEventBridgeEvent(JSON.stringify(ev).replace("\\ud83d", "\uD83D"));
    expect(parsed.ok && parsed.event.result?.externalExecutionSummary).toBe(
      `${"s".repeat(199)}\uFFFD`,
    );
  });

  it("rejects with a well-formed reason, and peeks well-formed identifiers", () => {
    const ev = fixture("pipeline-failed");
    ev.detail["execution-id"] = `${"😀".repeat(600)}`; // 1200 code units: too long
    ev.detail.pipeline = `p${"😀".repeat(600)}`;
    const parsed = parseEventBridgeEvent(JSON.stringify(ev));
    expect(parsed.ok).toBe(false);
    expect(strings(parsed).every(isWellFormed)).toBe(true);
    const notJson = parseEventBridgeEvent(`{"a": "\uD83D`);
    expect(notJson.ok).toBe(false);
    expect(strings(notJson).every(isWellFormed)).toBe(true);
  });
});

describe("the approval Lambda's Slack payloads", () => {
  const user = { id: "U1", username: "j\\ud83d", name: "\\ude00Jane" };

  it("makes the reject reason and the user names well-formed", () => {
    const payload = `{"type":"view_submission","user":{"id":"U1","username":"${user.username}","name":"${user.name}"},"view":{"callback_id":"cb","private_metadata":"{}","state":{"values":{"reason":{"reason":{"type":"plain_text_input","value":"broke prod \\ud83d"}}}}}}`;
    const parsed = parseViewSubmission(payload);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.submission.user).toEqual({ id: "U1", username: "j\uFFFD", name: "\uFFFDJane" });
    expect(normalizeReason(parsed.submission.reason)).toBe("broke prod \uFFFD");
    expect(normalizeReason("why \uDE00")).toBe("why \uFFFD");
  });

  it("makes a click's user names well-formed", () => {
    const payload = `{"type":"block_actions","user":{"id":"U1","username":"${user.username}","name":"${user.name}"},"actions":[{"action_id":"approve","value":"v"}]}`;
    const parsed = parseInteraction(payload);
    expect(parsed.ok).toBe(true);
    expect(strings(parsed).every(isWellFormed)).toBe(true);
  });
});

describe("fitKey: DynamoDB's key limits in UTF-8 bytes", () => {
  // DynamoDB Developer Guide, "Constraints in Amazon DynamoDB", partition keys and sort keys:
  // partition key value at most 2048 bytes, sort key value at most 1024 bytes.
  it("has the documented limits", () => {
    expect(MAX_PARTITION_KEY_BYTES).toBe(2048);
    expect(MAX_SORT_KEY_BYTES).toBe(1024);
  });

  it("keeps a key within the limit byte for byte, up to exactly the limit", () => {
    expect(fitKey("OUTCOME#api-prod#exec-1", 2048)).toBe("OUTCOME#api-prod#exec-1");
    const exact = "€".repeat(341) + "x"; // 1024 bytes
    expect(bytes(exact)).toBe(1024);
    expect(fitKey(exact, 1024)).toBe(exact);
  });

  it("replaces the end of a longer key with the SHA-256 of the whole, counting bytes", () => {
    const key = "€".repeat(400); // 400 characters, 1200 bytes
    const fitted = fitKey(key, 1024);
    const hash = createHash("sha256").update(key).digest("hex");
    expect(fitted.endsWith(`#sha256:${hash}`)).toBe(true);
    expect(bytes(fitted)).toBeLessThanOrEqual(1024);
    expect(bytes(fitted)).toBeGreaterThan(1024 - 3); // as much of the beginning as fits
    expect(key.startsWith(fitted.slice(0, fitted.indexOf("#sha256:")))).toBe(true);
    expect(isWellFormed(fitted)).toBe(true); // never half a character
  });

  it("keeps distinct keys distinct when they share a long beginning", () => {
    const a = fitKey(`${"a".repeat(3000)}1`, 2048);
    const b = fitKey(`${"a".repeat(3000)}2`, 2048);
    expect(a).not.toBe(b);
    expect(fitKey(`${"a".repeat(3000)}1`, 2048)).toBe(a);
  });

  it("keeps every key builder within the limits for the longest identifiers the parser accepts", () => {
    const id = "😀".repeat(512); // 1024 code units (MAX_ID_CHARS), 2048 bytes
    const at = "2026-11-30T07:00:00.000Z";
    const run = { pipeline: id, executionId: id, stage: id, action: id, actionExecutionId: id };
    const keys = [
      auditKey(id, at, "1a2b3c4d"),
      deliveryKey("n-1", `${id}/resolve/${id}`),
      outcomeKey(id, id, "FAILED", 2),
      incidentKey(id, id),
      approvalKey(run),
      pendingApprovalKey(at, run),
      replayKey(`v0=${id}`),
    ];
    for (const key of keys) {
      expect(bytes(key.pk)).toBeLessThanOrEqual(MAX_PARTITION_KEY_BYTES);
      expect(bytes(key.sk)).toBeLessThanOrEqual(MAX_SORT_KEY_BYTES);
    }
    const index = executionIndexKey(id.repeat(2), at);
    expect(bytes(index.gsi1pk)).toBeLessThanOrEqual(MAX_PARTITION_KEY_BYTES);
    // The pending scan queries by expiry (`sk < :upper`): the time stays the beginning.
    expect(pendingApprovalKey(at, run).sk.startsWith(`${at}#`)).toBe(true);
  });
});

describe("cuts made after intake", () => {
  it("never leave half an emoji in a PagerDuty dedup key (255 characters, Events API v2)", () => {
    for (let pad = 0; pad < 4; pad++) {
      const executionId = `${"e".repeat(pad)}${"😀".repeat(200)}`;
      const key = pagerdutyDedupKey({ pipeline: "api-prod", executionId });
      expect(key.length).toBeLessThanOrEqual(255);
      expect(isWellFormed(key)).toBe(true);
    }
  });
});

describe("the SNS channels, the last line of defence", () => {
  it("publish a lone surrogate that got past intake as U+FFFD through the real SDK client", async () => {
    // Without it the SDK's Query serializer throws `URIError: URI malformed` before sending.
    const server = await startServer(replyWith(snsPublishOk("msg-email")));
    try {
      const { ctx } = makeContext(
        { type: "email", addresses: ["oncall@example.com"] },
        {},
        { sns: localSns(server.url), topicArn: "arn:aws:sns:eu-west-1:123456789012:email" },
      );
      const n: Notification = {
        ...notificationFixture("failure-revision"),
        summary: `${"s".repeat(199)}\uD83D`,
      };

      const receipt = await emailDriver.send(n, ctx);

      expect(receipt).toMatchObject({ id: "msg-email" });
      const params = snsParams(server.requests[0].body);
      expect(params.Message).toContain(`${"s".repeat(199)}\uFFFD`);
      expect(isWellFormed(params.Message)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("treat the SDK's URIError (a request it cannot serialize) as permanent, not a network error", () => {
    const { ctx } = makeContext({ type: "sms", phoneNumbers: [] }, {});
    const err = snsDeliveryError("sms", ctx, new URIError("URI malformed"));
    expect(err.retryable).toBe(false);
  });
});

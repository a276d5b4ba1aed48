import vector from "../events/slack/signing-test-vector.json";
import {
  computeSlackSignature,
  verifySlackSignature,
  type SlackSignatureInput,
} from "../../handlers/approval/signature";

const at = (epochSeconds: number) => new Date(epochSeconds * 1000);
const published = (overrides: Partial<SlackSignatureInput> = {}): SlackSignatureInput => ({
  signingSecret: vector.signingSecret,
  timestamp: vector.timestamp,
  signature: vector.signature,
  rawBody: vector.body,
  now: at(Number(vector.timestamp) + 10),
  ...overrides,
});

describe("verifySlackSignature", () => {
  it("accepts Slack's published test vector", () => {
    // Prepare / Act
    const result = verifySlackSignature(published());
    // Assess
    expect(result).toEqual({ ok: true });
    expect(computeSlackSignature(vector.signingSecret, vector.timestamp, vector.body)).toBe(
      vector.signature,
    );
  });

  it("accepts the raw body as bytes (base64-decoded function URL bodies)", () => {
    const result = verifySlackSignature(published({ rawBody: Buffer.from(vector.body, "utf8") }));
    expect(result).toEqual({ ok: true });
  });

  it.each<[string, Partial<SlackSignatureInput>, RegExp]>([
    ["a wrong secret", { signingSecret: "0".repeat(32) }, /mismatch/],
    ["a tampered body", { rawBody: vector.body.replace("roadrunner", "coyote") }, /mismatch/],
    ["a forged signature", { signature: `v0=${"a".repeat(64)}` }, /mismatch/],
    ["a truncated signature", { signature: vector.signature.slice(0, 20) }, /mismatch/],
    ["a wrong version prefix", { signature: vector.signature.replace("v0=", "v1=") }, /version/],
    ["no version prefix", { signature: vector.signature.slice(3) }, /version/],
    ["a missing signature", { signature: undefined }, /missing x-slack-signature/],
    ["a missing timestamp", { timestamp: undefined }, /missing x-slack-request-timestamp/],
    ["a non-numeric timestamp", { timestamp: "1531420618abc" }, /not a number/],
    ["a negative timestamp", { timestamp: "-1531420618" }, /not a number/],
    ["a stale timestamp (301 s)", { now: at(Number(vector.timestamp) + 301) }, /stale/],
    ["a future timestamp (301 s)", { now: at(Number(vector.timestamp) - 301) }, /future/],
    ["an empty signing secret", { signingSecret: "" }, /no signing secret/],
  ])("rejects %s", (_name, overrides, reason) => {
    // Act
    const result = verifySlackSignature(published(overrides));
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it("accepts timestamps exactly 300 s off in both directions", () => {
    const t = Number(vector.timestamp);
    expect(verifySlackSignature(published({ now: at(t + 300) })).ok).toBe(true);
    expect(verifySlackSignature(published({ now: at(t - 300) })).ok).toBe(true);
  });

  it("never puts the secret or the signature in its reason", () => {
    const result = verifySlackSignature(published({ rawBody: "tampered" }));
    expect(result.ok).toBe(false);
    const text = JSON.stringify(result);
    expect(text).not.toContain(vector.signingSecret);
    expect(text).not.toContain(vector.signature.slice(3));
  });
});

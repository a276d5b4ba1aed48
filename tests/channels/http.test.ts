/**
 * The shared HTTP pieces: the response classifier, Retry-After parsing, redaction, and postJson
 * against a real local server.
 */
import {
  classifyResponse,
  deliveryError,
  isDeliveryError,
  MAX_RESPONSE_BODY_BYTES,
  parseRetryAfter,
  postJson,
  redact,
} from "../../handlers/http";
import { checkHttpUrl, isHttpUrl, parseHttpUrl } from "../../handlers/url";
import { errorText, rejectionOf, replyWith, startServer } from "./helpers";

describe("classifyResponse", () => {
  it.each([
    [200, "ok", {}, { outcome: "success" }],
    [202, "", {}, { outcome: "success" }],
    [204, "", {}, { outcome: "success" }],
    [200, '{"ok":true,"ts":"1.2"}', {}, { outcome: "success" }],
    [
      200,
      '{"ok":false,"error":"ratelimited"}',
      { "retry-after": "30" },
      { outcome: "retryable", retryAfterMs: 30_000 },
    ],
    [200, '{"ok":false,"error":"ratelimited"}', {}, { outcome: "retryable" }],
    [200, '{"ok":false,"error":"internal_error"}', {}, { outcome: "retryable" }],
    [200, '{"ok":false,"error":"channel_not_found"}', {}, { outcome: "permanent" }],
    [200, '{"ok":false,"error":"invalid_auth"}', {}, { outcome: "permanent" }],
    [400, "invalid_payload", {}, { outcome: "permanent" }],
    [403, "action_prohibited", {}, { outcome: "permanent" }],
    [404, "no_service", {}, { outcome: "permanent" }],
    [408, "", {}, { outcome: "retryable" }],
    [429, "", { "retry-after": "2" }, { outcome: "retryable", retryAfterMs: 2000 }],
    [429, '{"retry_after":0.25}', {}, { outcome: "retryable", retryAfterMs: 250 }],
    [500, "", {}, { outcome: "retryable" }],
    [502, "", {}, { outcome: "retryable" }],
    [503, "", { "Retry-After": "5" }, { outcome: "retryable", retryAfterMs: 5000 }],
    [301, "", {}, { outcome: "permanent" }],
    [101, "", {}, { outcome: "permanent" }],
  ])("%i %s %j", (status, body, headers, expected) => {
    expect(classifyResponse(status, body, headers)).toMatchObject(expected);
  });

  it("names the Slack error and the status in its reasons", () => {
    expect(classifyResponse(200, '{"ok":false,"error":"channel_not_found"}')).toEqual({
      outcome: "permanent",
      reason: "ok:false channel_not_found",
    });
    expect(classifyResponse(404, "no_service")).toEqual({
      outcome: "permanent",
      reason: "HTTP 404: no_service",
    });
  });

  it("reads headers from a fetch Headers object", () => {
    expect(classifyResponse(429, "", new Headers({ "Retry-After": "4" }))).toMatchObject({
      retryAfterMs: 4000,
    });
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");
  it.each([
    ["120", 120_000],
    ["1.5", 1500],
    ["0", 0],
    ["Wed, 01 May 2024 12:00:30 GMT", 30_000],
    ["Wed, 01 May 2024 11:59:00 GMT", 0],
    ["soon", undefined],
    [undefined, undefined],
  ])("%s → %s", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe("redact", () => {
  it("keeps scheme and host, drops credentials, path, query and fragment", () => {
    expect(redact("POST https://user:pw@hooks.slack.com/services/T0/B0/XYZ?x=1#f failed")).toBe(
      "POST https://hooks.slack.com/[redacted] failed",
    );
    expect(redact("see https://example.com")).toBe("see https://example.com");
    expect(redact("<https://evil.example/a|click>")).toBe(
      "<https://evil.example/[redacted]|click>",
    );
  });

  it("removes secret values in plain, URL-encoded and JSON-encoded forms", () => {
    const secret = 'tok/en "x"+y';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${JSON.stringify(secret)}`;
    const out = redact(text, [secret]);
    expect(out).not.toContain("tok/en");
    expect(out).not.toContain("tok%2Fen");
  });

  it("removes a secret URL's path and query when echoed without the host", () => {
    const url =
      "https://prod-01.westeurope.logic.azure.com/workflows/abc123/triggers?sig=SIGNATUREvalue0123456789";
    const out = redact(
      "server said: POST /workflows/abc123/triggers?sig=SIGNATUREvalue0123456789 bad; sig SIGNATUREvalue0123456789",
      [url],
    );
    expect(out).not.toContain("SIGNATURE");
    expect(out).not.toContain("abc123");
  });
});

describe("deliveryError", () => {
  it("is a plain Error with the delivery properties", () => {
    const e = deliveryError("slack-eng", "slack slack-eng: HTTP 503", {
      retryable: true,
      retryAfterMs: 100,
      status: 503,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: "DeliveryError",
      channel: "slack-eng",
      retryable: true,
      retryAfterMs: 100,
      status: 503,
    });
    expect(e.message).toBe("slack slack-eng: HTTP 503");
    expect(isDeliveryError(e)).toBe(true);
    expect(isDeliveryError(new Error("x"))).toBe(false);
    expect(Object.keys(deliveryError("c", "m", { retryable: false }))).not.toContain("status");
  });
});

describe("postJson", () => {
  const opts = { channel: "test", label: "webhook test", timeoutMs: 2000 };

  it("posts JSON and returns status, body and lower-cased headers", async () => {
    // Prepare
    const server = await startServer(
      replyWith({ status: 201, body: "created", headers: { "X-Thing": "1" } }),
    );
    try {
      // Act
      const res = await postJson(
        `${server.url}/in`,
        { a: 1 },
        { ...opts, deadline: Date.now() + 10_000, headers: { "x-extra": "y" } },
      );
      // Assess
      expect(res).toEqual({
        status: 201,
        body: "created",
        headers: expect.objectContaining({ "x-thing": "1" }),
      });
      expect(server.requests[0]).toMatchObject({ method: "POST", path: "/in", body: '{"a":1}' });
      expect(server.requests[0].headers["x-extra"]).toBe("y");
    } finally {
      await server.close();
    }
  });

  it("caps the body it reads", async () => {
    const server = await startServer(replyWith({ status: 500, body: "e".repeat(1_000_000) }));
    try {
      const res = await postJson(server.url, {}, { ...opts, deadline: Date.now() + 10_000 });
      expect(res.status).toBe(500);
      expect(res.body.length).toBeLessThanOrEqual(MAX_RESPONSE_BODY_BYTES);
      expect(res.body.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it("does not follow redirects", async () => {
    const target = await startServer(replyWith({ status: 200 }));
    const server = await startServer(
      replyWith({ status: 307, headers: { location: `${target.url}/elsewhere` } }),
    );
    try {
      const res = await postJson(server.url, {}, { ...opts, deadline: Date.now() + 10_000 });
      expect(res.status).toBe(307);
      expect(target.requests).toHaveLength(0);
    } finally {
      await server.close();
      await target.close();
    }
  });

  // The reset's timeout is long: on a loaded machine the reset can take longer than 200 ms to
  // arrive, and would then be the timeout this case is not about.
  it.each([
    ["hang", 200, /timed out after 200 ms/],
    ["reset", 10_000, /network error/],
  ] as const)(
    "a %s is a retryable error that does not quote the URL",
    async (reply, timeoutMs, pattern) => {
      // Prepare
      const server = await startServer(replyWith(reply));
      try {
        // Act
        const error = await rejectionOf(() =>
          postJson(
            `${server.url}/hook/SECRETPATH`,
            {},
            { ...opts, timeoutMs, deadline: Date.now() + 20_000 },
          ),
        );
        // Assess
        expect(error).toMatchObject({ name: "DeliveryError", retryable: true, channel: "test" });
        expect((error as Error).message).toMatch(pattern);
        expect((error as Error).message.startsWith("webhook test: ")).toBe(true);
        expect(errorText(error)).not.toContain("SECRETPATH");
      } finally {
        await server.close();
      }
    },
  );

  it("cuts the timeout to the time left before the deadline", async () => {
    const server = await startServer(replyWith("hang"));
    try {
      const error = await rejectionOf(() =>
        postJson(server.url, {}, { ...opts, timeoutMs: 60_000, deadline: Date.now() + 1500 }),
      );
      expect((error as Error).message).toMatch(/timed out after 1\d{3} ms/);
    } finally {
      await server.close();
    }
  });

  it("does not start a send with less than minSendMs left: retryable, nothing arrives", async () => {
    // Prepare: a receiver that answers at once. Under load the demo sent with 21–27 ms left, the
    // reply came later, the attempt read as timed out and its retry sent the message again.
    const server = await startServer(replyWith({ status: 200 }));
    try {
      // Act
      const error = await rejectionOf(() =>
        postJson(server.url, {}, { ...opts, minSendMs: 300, deadline: Date.now() + 100 }),
      );
      // Assess
      expect(error).toMatchObject({ name: "DeliveryError", retryable: true });
      expect((error as { mayHaveArrived?: boolean }).mayHaveArrived).toBeUndefined();
      expect((error as Error).message).toMatch(
        /deadline too close to send \(\d+ ms left, 300 needed\)/,
      );
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it("without minSendMs a post whose deadline is its own short timeout is made (the click's answer)", async () => {
    const server = await startServer(replyWith({ status: 200 }));
    try {
      const res = await postJson(server.url, {}, { ...opts, deadline: Date.now() + 250 });
      expect(res.status).toBe(200);
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it.each([["not a url"], ["ftp://files.example/x"]])("refuses %s permanently", async (url) => {
    const error = await rejectionOf(() =>
      postJson(url, {}, { ...opts, deadline: Date.now() + 10_000 }),
    );
    expect(error).toMatchObject({ name: "DeliveryError", retryable: false });
    expect((error as Error).message).not.toContain("files.example/x");
  });
});

describe("checkHttpUrl: the one http(s) URL check", () => {
  it.each([
    ["https://hooks.slack.com/services/T/B/x", { ok: true }],
    ["http://127.0.0.1:8080/hook", { ok: true }],
    ["  https://example.com/x  ", { ok: true }],
    ["HTTPS://EXAMPLE.com", { ok: true }],
    ["ftp://files.example/x", { ok: false, problem: "scheme", protocol: "ftp:" }],
    ["javascript:alert(1)", { ok: false, problem: "scheme", protocol: "javascript:" }],
    ["mailto:ops@example.com", { ok: false, problem: "scheme", protocol: "mailto:" }],
    ["not a url", { ok: false, problem: "unparsable" }],
    ["/relative/path", { ok: false, problem: "unparsable" }],
    ["", { ok: false, problem: "unparsable" }],
  ])("%j → %j", (raw, expected) => {
    // Act
    const checked = checkHttpUrl(raw);

    // Assess
    expect(checked).toMatchObject(expected);
    expect(parseHttpUrl(raw)?.href).toBe(checked.ok ? new URL(raw).href : undefined);
    expect(isHttpUrl(raw)).toBe(checked.ok);
  });

  it("says no to what is not a string", () => {
    expect([undefined, null, 42, {}].map(isHttpUrl)).toEqual([false, false, false, false]);
  });

  it("tells postJson's two refusals apart", async () => {
    const opts = { channel: "webhook-ops", deadline: Date.now() + 10_000 };
    const scheme = await rejectionOf(() => postJson("ftp://files.example/x", {}, opts));
    const unparsable = await rejectionOf(() => postJson("not a url", {}, opts));

    expect((scheme as Error).message).toBe("webhook-ops: unsupported URL scheme ftp:");
    expect((unparsable as Error).message).toBe("webhook-ops: invalid URL");
  });
});

/**
 * The one logger of both Lambdas: Powertools' field and level names, the log level from the
 * environment, and the per-invocation fields.
 */
import {
  createLogger,
  emitMetrics,
  invocationFields,
  logLevelFromEnv,
  METRICS_NAMESPACE,
} from "../handlers/telemetry";

/** Runs `act` and returns the JSON lines it wrote to stdout. */
function linesOf(act: () => void): Array<Record<string, unknown>> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, "write").mockImplementation(((chunk: unknown) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write);
  try {
    act();
  } finally {
    spy.mockRestore();
  }
  return written
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const ENV_KEYS = ["POWERTOOLS_LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL", "POWERTOOLS_SERVICE_NAME"];
const saved: Record<string, string | undefined> = {};
beforeEach(() => {
  for (const key of ENV_KEYS) {
    saved[key] = process.env[key];
    delete process.env[key];
  }
});
afterEach(() => {
  for (const key of ENV_KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe("createLogger", () => {
  it("writes one JSON line with Powertools' keys, in Powertools' order", () => {
    // Prepare
    const log = createLogger({
      service: "fanout",
      cold_start: true,
      function_request_id: "req-1",
      pipeline: "web",
    });

    // Act
    const [line] = linesOf(() => log.info("record done", { status: "delivered" }));

    // Assess
    expect(line).toEqual({
      level: "INFO",
      message: "record done",
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: "fanout",
      cold_start: true,
      function_request_id: "req-1",
      pipeline: "web",
      status: "delivered",
    });
    expect(Object.keys(line).slice(0, 6)).toEqual([
      "level",
      "message",
      "timestamp",
      "service",
      "cold_start",
      "function_request_id",
    ]);
  });

  it("names the levels as Powertools does", () => {
    process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
    const log = createLogger({ service: "approval" });

    const lines = linesOf(() => {
      log.debug("d");
      log.info("i");
      log.warn("w");
      log.error("e");
    });

    expect(lines.map((l) => l.level)).toEqual(["DEBUG", "INFO", "WARN", "ERROR"]);
  });

  it("keeps its own level, message and timestamp over a caller's field of the same name", () => {
    const log = createLogger({ level: "x", message: "y" });

    const [line] = linesOf(() => log.warn("real", { timestamp: "z" }));

    expect(line).toMatchObject({ level: "WARN", message: "real" });
    expect(line.timestamp).not.toBe("z");
  });

  it("takes the service from POWERTOOLS_SERVICE_NAME, else service_undefined", () => {
    const [plain] = linesOf(() => createLogger().info("a"));
    process.env.POWERTOOLS_SERVICE_NAME = "notifier";
    const [named] = linesOf(() => createLogger().info("b"));

    expect(plain.service).toBe("service_undefined");
    expect(named.service).toBe("notifier");
  });

  it("adds a child's fields to the parent's", () => {
    const log = createLogger({ service: "fanout", eventId: "e1" }).child({ channel: "slack-eng" });

    const [line] = linesOf(() => log.error("delivery failed"));

    expect(line).toMatchObject({ service: "fanout", eventId: "e1", channel: "slack-eng" });
  });
});

describe("log level", () => {
  it.each([
    [{}, "INFO"],
    [{ POWERTOOLS_LOG_LEVEL: "warn" }, "WARN"],
    [{ POWERTOOLS_LOG_LEVEL: "SILENT" }, "SILENT"],
    [{ POWERTOOLS_LOG_LEVEL: "chatty" }, "INFO"],
    [{ AWS_LAMBDA_LOG_LEVEL: "ERROR", POWERTOOLS_LOG_LEVEL: "DEBUG" }, "ERROR"],
    [{ AWS_LAMBDA_LOG_LEVEL: "FATAL" }, "CRITICAL"],
  ])("%j → %s", (env, level) => {
    expect(logLevelFromEnv(env)).toBe(level);
  });

  it("writes nothing below the level, and nothing at all when SILENT", () => {
    process.env.POWERTOOLS_LOG_LEVEL = "WARN";
    const warnOnly = linesOf(() => {
      const log = createLogger();
      log.debug("d");
      log.info("i");
      log.warn("w");
    });
    process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
    const silent = linesOf(() => createLogger().error("e"));

    expect(warnOnly.map((l) => l.message)).toEqual(["w"]);
    expect(silent).toEqual([]);
  });

  it("does not silence the metrics", () => {
    process.env.POWERTOOLS_LOG_LEVEL = "SILENT";

    const lines = linesOf(() =>
      emitMetrics([{ name: "Sent", value: 1, unit: "Count", dimensions: { Channel: "x" } }]),
    );

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ Sent: 1, Channel: "x" });
    expect(JSON.stringify(lines[0])).toContain(METRICS_NAMESPACE);
  });
});

describe("invocationFields", () => {
  it("says cold_start on the first invocation only, with each invocation's request id", () => {
    jest.isolateModules(() => {
      // A fresh module is a fresh execution environment.
      const fresh = jest.requireActual<{ invocationFields: typeof invocationFields }>(
        "../handlers/telemetry",
      );

      expect(fresh.invocationFields({ awsRequestId: "r1" })).toEqual({
        cold_start: true,
        function_request_id: "r1",
      });
      expect(fresh.invocationFields({ awsRequestId: "r2" })).toEqual({
        cold_start: false,
        function_request_id: "r2",
      });
      expect(fresh.invocationFields()).toEqual({ cold_start: false });
    });
  });
});

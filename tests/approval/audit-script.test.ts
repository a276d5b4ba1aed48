import { createAuditTable, startDynalite, type Dynalite } from "../../testing";
import { putAudit } from "../../handlers/store/audit";
import { formatTable, main, parseArgs, toRows } from "../../scripts/audit";

const TABLE = "audit-script-test";
let dynamo: Dynalite;

beforeAll(async () => {
  dynamo = await startDynalite();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "standin",
    AWS_SECRET_ACCESS_KEY: "standin",
    AUDIT_TABLE: TABLE,
  });
  await createAuditTable(dynamo.endpoint, TABLE);
});
afterAll(async () => {
  await dynamo.close();
});

/** Runs the script's main and returns what it printed. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest
    .spyOn(console, "log")
    .mockImplementation((m: unknown) => void out.push(String(m)));
  const error = jest
    .spyOn(console, "error")
    .mockImplementation((m: unknown) => void err.push(String(m)));
  try {
    const code = await main(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("scripts/audit.ts", () => {
  it("prints who approved, rejected or was denied, oldest first, since --since", async () => {
    // Prepare
    const detail = { stage: "Approve", action: "ManualApproval" };
    const put = (record: Parameters<typeof putAudit>[0], at: string) =>
      putAudit(record, 30, new Date(at));
    await put(
      {
        action: "approval-decided",
        pipeline: "pay",
        executionId: "exec-old",
        actor: "Old (U0)",
        result: "Approved",
        detail,
      },
      "2024-06-01T10:00:00.000Z",
    );
    await put(
      {
        action: "approval-decided",
        pipeline: "pay",
        executionId: "exec-2",
        actor: "Raj Patel (U2)",
        result: "Rejected",
        detail,
      },
      "2024-06-10T14:05:00.000Z",
    );
    await put(
      {
        action: "approval-denied",
        pipeline: "pay",
        executionId: "exec-2",
        actor: "Mallory (U9)",
        result: "not an approver",
        detail,
      },
      "2024-06-10T14:02:00.000Z",
    );
    await put(
      { action: "sent", pipeline: "pay", executionId: "exec-2", channel: "slack-eng" },
      "2024-06-10T14:03:00.000Z",
    );
    await put(
      {
        action: "approval-decided",
        pipeline: "other",
        executionId: "exec-x",
        actor: "X (U5)",
        result: "Approved",
        detail,
      },
      "2024-06-10T14:04:00.000Z",
    );
    // Act
    const { code, out } = await run(["--pipeline", "pay", "--since", "2024-06-05T00:00:00Z"]);
    // Assess
    expect(code).toBe(0);
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^time\s+decision\s+who\s+execution\s+stage\/action\s+result$/);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(
        /^2024-06-10T14:02:00.000Z\s+denied\s+Mallory \(U9\)\s+exec-2\s+Approve\/ManualApproval\s+not an approver$/,
      ),
      expect.stringMatching(
        /^2024-06-10T14:05:00.000Z\s+Rejected\s+Raj Patel \(U2\)\s+exec-2\s+Approve\/ManualApproval\s+Rejected$/,
      ),
    ]);
    expect(out).not.toContain("exec-old");
    expect(out).not.toContain("exec-x");
  });

  it("says so when there is nothing to show", async () => {
    const { code, out } = await run(["--pipeline", "nothing-here"]);
    expect(code).toBe(0);
    expect(out).toBe("no approval records for nothing-here");
  });

  it("fails with the usage on bad arguments", async () => {
    expect(() => parseArgs([], {})).toThrow(/--pipeline is required/);
    expect(() => parseArgs(["--pipeline", "p"], {})).toThrow(/--table is required/);
    expect(() =>
      parseArgs(["--pipeline", "p", "--since", "yesterday"], { AUDIT_TABLE: "t" }),
    ).toThrow(/--since/);
    expect(() => parseArgs(["--pipline", "p"], { AUDIT_TABLE: "t" })).toThrow(
      /unknown argument --pipline/,
    );
    expect(parseArgs(["--pipeline", "p", "--table", "t2"], { AUDIT_TABLE: "t" })).toEqual({
      pipeline: "p",
      table: "t2",
      since: undefined,
    });
    const { code, err } = await run(["--table", TABLE]);
    expect(code).toBe(1);
    expect(err).toContain("usage: npm run audit");
  });

  it("reports a missing table with its name", async () => {
    const { code, err } = await run(["--pipeline", "pay", "--table", "no-such-table"]);
    expect(code).toBe(1);
    expect(err).toMatch(/reading table no-such-table failed: ResourceNotFoundException/);
  });

  it("formats an empty-cell row without trailing spaces", () => {
    const table = formatTable(toRows([{ action: "approval-error", at: "t", pipeline: "p" }]));
    expect(table.split("\n")[2]).toBe("t     error");
  });
});

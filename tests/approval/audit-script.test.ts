import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createAuditTable, startDynalite, type Dynalite } from "../../testing";
import { putAudit } from "../../handlers/store/audit";
import { formatTable, main, parseArgs, toRows } from "../../scripts/audit";
import { announceSandbox, readDiscovery } from "../../sandbox/discovery";

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
async function run(
  argv: string[],
  ...rest: [NodeJS.ProcessEnv?, Parameters<typeof main>[2]?]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest
    .spyOn(console, "log")
    .mockImplementation((m: unknown) => void out.push(String(m)));
  const error = jest
    .spyOn(console, "error")
    .mockImplementation((m: unknown) => void err.push(String(m)));
  try {
    const code = await main(argv, ...rest);
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

  it("names every click outcome and a refused click on a replaced request (not all 'late click')", async () => {
    // Prepare: the results the approval function writes (handlers/approval start.ts, work.ts).
    const detail = { stage: "Approve", action: "ManualApproval" };
    const records: Array<[string, string, string]> = [
      [
        "approval-click",
        "claimed: replaced the clicker's own claim of t0, whose work had not started",
        "10:01",
      ],
      ["approval-click", "claim not confirmed in time (AbortError)", "10:02"],
      ["approval-click", "already decided by Jane (U1) (Approved) at t", "10:03"],
      ["approval-click", "not decided by its work: the claim was taken over", "10:04"],
      ["approval-superseded", "refused: the request was replaced by a newer one", "10:05"],
      ["approval-click", "already being decided by Jane (U1) (Approved) at t", "10:06"],
      ["approval-click", "not decided: Approval of p › s › a expired (late click)", "10:07"],
    ];
    for (const [action, result, hm] of records) {
      await putAudit(
        {
          action,
          pipeline: "names",
          executionId: "e1",
          actor: "Jane (U1)",
          result,
          detail,
        } as Parameters<typeof putAudit>[0],
        30,
        new Date(`2024-07-01T${hm}:00.000Z`),
      );
    }
    // Act
    const { code, out } = await run(["--pipeline", "names"]);
    // Assess
    expect(code).toBe(0);
    const words = out
      .split("\n")
      .slice(2)
      .map((line) => line.split(/\s{2,}/)[1]);
    expect(words).toEqual([
      "clicked",
      "clicked (being recorded)",
      "late click",
      "click not decided",
      "refused: replaced",
      "late click",
      "click not decided",
    ]);
  });

  it("says so when there is nothing to show", async () => {
    const { code, out } = await run(["--pipeline", "nothing-here"]);
    expect(code).toBe(0);
    expect(out).toBe("no approval records for nothing-here");
  });

  it("--help prints the usage and exits 0", async () => {
    const { code, out, err } = await run(["--help"]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toMatch(/^usage: npm run audit -- --pipeline <name>/);
  });

  it("fails with the usage on bad arguments", async () => {
    expect(() => parseArgs([], {})).toThrow(/--pipeline is required/);
    expect(() => parseArgs(["--pipeline", "p"], {}, () => undefined)).toThrow(
      "--table is required: AUDIT_TABLE is not set and no sandbox is running (npm start)",
    );
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

  describe("against a running sandbox, with no --table (issue 15)", () => {
    const AWS_VARS = [
      "AWS_ENDPOINT_URL_DYNAMODB",
      "AWS_REGION",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AUDIT_TABLE",
    ];
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "dn-discovery-test-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A sandbox announcement for the test's dynalite, written by the sandbox's own code. */
    function announce(file: string): () => void {
      const runtime = {
        stack: "prod",
        pipelines: [{ match: { name: "pay" }, tier: "t", states: [], approvals: {} }],
      } as unknown as Parameters<typeof announceSandbox>[0]["runtime"];
      const logged: string[] = [];
      const remove = announceSandbox(
        {
          standins: { dynamo: { endpoint: dynamo.endpoint } },
          declared: { tables: [TABLE] },
          runtime,
        },
        "http://127.0.0.1:8787",
        (l) => logged.push(l),
        file,
      );
      expect(logged).toEqual(["audit trail: npm run audit -- --pipeline pay"]);
      return remove;
    }

    it("reads the sandbox's table with the announced endpoint, region and stand-in credentials", async () => {
      // Prepare: no AWS settings at all in the environment, as on a fresh shell.
      const file = path.join(dir, "sandbox.json");
      const remove = announce(file);
      await putAudit(
        {
          action: "approval-decided",
          pipeline: "pay",
          executionId: "exec-sbx",
          actor: "Ann (U1)",
          result: "Approved",
        },
        30,
        new Date("2024-07-01T10:00:00.000Z"),
      );
      const saved = Object.fromEntries(AWS_VARS.map((k) => [k, process.env[k]]));
      for (const k of AWS_VARS) delete process.env[k];

      // Act
      let result: Awaited<ReturnType<typeof run>>;
      try {
        result = await run(
          ["--pipeline", "pay", "--since", "2024-07-01T00:00:00Z"],
          process.env,
          () => readDiscovery(file),
        );
      } finally {
        Object.assign(process.env, saved);
      }

      // Assess
      expect(result.err).toBe("");
      expect(result.code).toBe(0);
      expect(result.out).toMatch(/2024-07-01T10:00:00.000Z\s+Approved\s+Ann \(U1\)\s+exec-sbx/);
      remove();
      expect(fs.existsSync(file)).toBe(false);
    });

    it("ignores the announcement of a sandbox whose process is gone", () => {
      // Prepare: a pid that has exited.
      const file = path.join(dir, "sandbox.json");
      const gone = spawnSync(process.execPath, ["-e", ""]).pid;
      fs.writeFileSync(
        file,
        JSON.stringify({
          endpoint: dynamo.endpoint,
          tables: [TABLE],
          region: "us-east-1",
          pid: gone,
        }),
      );

      // Act + Assess
      expect(readDiscovery(file)).toBeUndefined();
      expect(() => parseArgs(["--pipeline", "p"], {}, () => readDiscovery(file))).toThrow(
        /no sandbox is running/,
      );
    });
  });
});

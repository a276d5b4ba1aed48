/**
 * Issue 14: which accounts and regions the fan-out takes events from (handlers/events/sources.ts).
 * Home is `HOME_ACCOUNT` + `AWS_REGION` (contracts/pipeline-id.ts); anything else must be a
 * configured source account in one of its regions (config key `sources`), or the event is refused
 * with a reason that names the config key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  admitSource,
  notificationId,
  originFields,
  parseEventBridgeEvent,
  sourceRefusal,
} from "../handlers/events";
import type { SourceAccount } from "../handlers/types";

const HOME_ENV = { HOME_ACCOUNT: "123456789012", AWS_REGION: "us-east-1" };
const SOURCES: SourceAccount[] = [
  { account: "111111111111", regions: ["us-east-1", "eu-west-1"], alias: "payments-prod" },
  { account: "222222222222", regions: ["us-east-1"] },
];

function fixture(name: string, top: Record<string, unknown> = {}): string {
  const file = path.join(__dirname, "events", "codepipeline", `${name}.json`);
  return JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), ...top });
}

describe("sourceRefusal", () => {
  it.each([
    ["the home account and region", "123456789012", "us-east-1"],
    ["a source account in its first region", "111111111111", "us-east-1"],
    ["a source account in its second region", "111111111111", "eu-west-1"],
  ])("admits %s", (_what, account, region) => {
    expect(sourceRefusal({ account, region }, SOURCES, HOME_ENV)).toBeUndefined();
  });

  it("refuses an account that is not a source, naming the config key", () => {
    expect(sourceRefusal({ account: "999999999999", region: "us-east-1" }, SOURCES, HOME_ENV)).toBe(
      "account 999999999999 is not a configured source (config key sources)",
    );
  });

  it("refuses a source account's region that it does not list, naming that account's entry", () => {
    expect(sourceRefusal({ account: "222222222222", region: "eu-west-1" }, SOURCES, HOME_ENV)).toBe(
      "region eu-west-1 of account 222222222222 is not a configured source region (config key sources[1].regions)",
    );
  });

  it("refuses the home account in another region unless a source lists it (home is account AND region)", () => {
    const otherRegion = { account: "123456789012", region: "eu-west-1" };
    expect(sourceRefusal(otherRegion, SOURCES, HOME_ENV)).toBe(
      "account 123456789012 is not a configured source (config key sources)",
    );
    const withHome = [...SOURCES, { account: "123456789012", regions: ["eu-west-1"] }];
    expect(sourceRefusal(otherRegion, withHome, HOME_ENV)).toBeUndefined();
  });

  it("refuses an event without an account when the home account is known", () => {
    expect(sourceRefusal({ account: "", region: "us-east-1" }, SOURCES, HOME_ENV)).toBe(
      "account (missing) is not a configured source (config key sources)",
    );
  });

  it("admits everything in a stack without sources (HOME_ACCOUNT unset: the account's own bus)", () => {
    expect(
      sourceRefusal({ account: "999999999999", region: "us-east-1" }, undefined, {
        AWS_REGION: "us-east-1",
      }),
    ).toBeUndefined();
  });
});

describe("admitSource", () => {
  it("turns an event from an unconfigured account into a refusal that keeps its identifiers", () => {
    const parsed = parseEventBridgeEvent(fixture("pipeline-failed", { account: "999999999999" }));
    expect(parsed.ok).toBe(true);

    const out = admitSource(parsed, { sources: SOURCES }, HOME_ENV);

    expect(out).toEqual({
      ok: false,
      kind: "unconfigured-source",
      reason: "account 999999999999 is not a configured source (config key sources)",
      // Filed under the pipeline's ARN (its key outside home), never under a home pipeline.
      pipeline: "arn:aws:codepipeline:us-east-1:999999999999:main-app-production-v3",
      executionId: parsed.ok ? parsed.event.executionId : undefined,
      eventId: parsed.ok ? parsed.event.id : undefined,
      account: "999999999999",
      region: "us-east-1",
    });
  });

  it("leaves admitted events and parse failures as they are", () => {
    const ok = parseEventBridgeEvent(fixture("pipeline-failed"));
    expect(admitSource(ok, { sources: SOURCES }, HOME_ENV)).toBe(ok);
    const bad = parseEventBridgeEvent(fixture("malformed-missing-execution-id"));
    expect(admitSource(bad, { sources: SOURCES }, HOME_ENV)).toBe(bad);
  });
});

describe("notificationId across accounts", () => {
  it("differs for same-named pipelines of two accounts, and is the pre-issue-14 id at home", () => {
    const home = parseEventBridgeEvent(fixture("pipeline-failed"));
    const prod = parseEventBridgeEvent(fixture("pipeline-failed", { account: "111111111111" }));
    if (!home.ok || !prod.ok) throw new Error("fixture did not parse");
    const saved = { ...process.env };
    Object.assign(process.env, HOME_ENV);
    try {
      expect(notificationId(home.event)).not.toBe(notificationId(prod.event));
    } finally {
      process.env.HOME_ACCOUNT = saved.HOME_ACCOUNT;
      if (saved.HOME_ACCOUNT === undefined) delete process.env.HOME_ACCOUNT;
      process.env.AWS_REGION = saved.AWS_REGION;
      if (saved.AWS_REGION === undefined) delete process.env.AWS_REGION;
    }
    // tests/__snapshots__ and stored ledger items hold ids made from the bare name: unchanged.
    expect(notificationId(home.event)).toBe(
      require("node:crypto")
        .createHash("sha256")
        .update(
          JSON.stringify([
            "v1",
            "main-app-production-v3",
            home.event.executionId,
            "pipeline",
            "",
            "",
            "FAILED",
            1,
          ]),
        )
        .digest("hex")
        .slice(0, 24),
    );
  });
});

describe("originFields", () => {
  it("names the account (alias) whenever the stack has sources, home included", () => {
    expect(
      originFields(
        { account: "111111111111", region: "eu-west-1" },
        { sources: SOURCES },
        HOME_ENV,
      ),
    ).toEqual({
      showOrigin: true,
      accountAlias: "payments-prod",
    });
    expect(
      originFields(
        { account: "123456789012", region: "us-east-1" },
        { sources: SOURCES },
        HOME_ENV,
      ),
    ).toEqual({
      showOrigin: true,
    });
  });

  it("names nothing for a single-account stack's own pipelines (messages unchanged)", () => {
    expect(originFields({ account: "123456789012", region: "us-east-1" }, {}, HOME_ENV)).toEqual(
      {},
    );
    expect(originFields({ account: "123456789012", region: "us-east-1" }, {}, {})).toEqual({});
  });
});

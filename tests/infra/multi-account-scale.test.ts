/**
 * Issue 14: "the central part's resource count must not depend on pipelines". The same 50-account
 * × 3-region organization declared with 10 and with 500 pipelines under Pulumi mocks: the
 * resources in the notifier's own account (default provider) and those per (account, region)
 * are the same in number; only the pattern and policy contents change.
 */
import { withAccounts } from "../../scripts/lib/stacks";
import { declareForTest, recordResources, type Registered } from "./mocks";

let registered: Registered[];

/**
 * Declares the notifier for `count` pipelines over 50 accounts × 3 regions; returns its census.
 * About 1,100 resources (declareForTest declares with V8's own stack text:
 * tests/support/plain-stacks.ts).
 */
async function census(count: number) {
  registered.length = 0;
  await declareForTest(withAccounts("prod", count, 50, 3));
  const custom = registered.filter((r) => r.custom);
  return {
    central: custom.filter((r) => r.provider === "" && r.type !== "pulumi:providers:aws").length,
    sources: custom.filter((r) => r.provider !== "" || r.type === "pulumi:providers:aws").length,
  };
}

beforeAll(async () => {
  registered = await recordResources();
}, 60_000);

it("declares as many central resources for 500 pipelines as for 10, and 5 per (account, region) + 2 per account", async () => {
  const small = await census(10);
  const large = await census(500);
  expect(large.central).toBe(small.central);
  // Per (account, region): provider, rule, target, role, role policy; per account: the
  // source-access role and its policy. 10 pipelines over 50 accounts select pipelines in only
  // some (account, region) pairs, so only the 500-pipeline organization has them all.
  expect(large.sources).toBe(150 * 5 + 50 * 2);
}, 240_000);

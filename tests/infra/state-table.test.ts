import { StateTable } from "../../infra/state-table";
import { TABLE_SCHEMA } from "../../handlers/store/keys";
import {
  childrenOf,
  expectAliasedToStackTop,
  recordResources,
  settled,
  type Registered,
} from "./mocks";

const TABLE = "aws:dynamodb/table:Table";
let registered: Registered[];

beforeAll(async () => {
  registered = await recordResources();
  new StateTable("state", { tags: { team: "platform" } });
  await settled();
});

it("declares the audit table on demand, with TTL, PITR, encryption and deletion protection", () => {
  const [table] = childrenOf(registered, "deploy-notifier:infra:StateTable");
  expect(table).toMatchObject({ type: TABLE, name: "audit" });
  expect(table.inputs).toEqual({
    billingMode: "PAY_PER_REQUEST",
    hashKey: TABLE_SCHEMA.hashKey,
    rangeKey: TABLE_SCHEMA.rangeKey,
    attributes: ["pk", "sk", "gsi1pk", "gsi1sk"].map((name) => ({ name, type: "S" })),
    globalSecondaryIndexes: [
      { name: "byExecution", hashKey: "gsi1pk", rangeKey: "gsi1sk", projectionType: "ALL" },
    ],
    ttl: { attributeName: "expiresAt", enabled: true },
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true },
    deletionProtectionEnabled: true,
    tags: { team: "platform" },
  });
});

it("keeps the table's URN: aliased to its old place at the top of the stack", () => {
  const children = childrenOf(registered, "deploy-notifier:infra:StateTable");
  expect(children.map((c) => c.name)).toEqual(["audit"]);
  expectAliasedToStackTop(children);
});

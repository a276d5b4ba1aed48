/**
 * The world of the pacing tests that call handlers/store/pacing.ts and handlers/fanout/pace.ts
 * in this process: a dynalite behind the local DynamoDB's proxy (testing/dynamo.ts), the audit
 * table, and this process's AWS environment pointing at it. Registers the file's hooks: started
 * once, the environment restored and dynalite closed after; after each test the mocks restored
 * and the container's pacing memo forgotten (store/pace-memo.ts), so no test inherits what an
 * earlier one taught it.
 */
import { forgetPaceMemo } from "../../handlers/store/pacing";
import { createAuditTable, startDynalite, type Dynalite } from "../../testing";

/** The world's dynalite, set once `beforeAll` has run. */
export interface PaceTable {
  dynamo: Dynalite;
}

/**
 * Registers the hooks for table `table`; `timeScale`: the `TIME_SCALE` of this process (unset,
 * real time, by default).
 */
export function usePaceTable(table: string, timeScale?: number): PaceTable {
  const saved = { ...process.env };
  const t = { dynamo: undefined as unknown as Dynalite };
  beforeAll(async () => {
    t.dynamo = await startDynalite();
    await createAuditTable(t.dynamo.endpoint, table);
    Object.assign(process.env, {
      AUDIT_TABLE: table,
      AWS_ENDPOINT_URL_DYNAMODB: t.dynamo.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    if (timeScale === undefined) delete process.env.TIME_SCALE;
    else process.env.TIME_SCALE = String(timeScale);
  });
  afterAll(async () => {
    process.env = saved;
    await t.dynamo.close();
  });
  afterEach(() => {
    jest.restoreAllMocks();
    forgetPaceMemo();
  });
  return t;
}

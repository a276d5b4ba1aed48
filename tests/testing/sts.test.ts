/**
 * The local STS (testing/aws/sts.ts) through the real SDK v3 client: AssumeRole as the STS API
 * reference documents it (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html:
 * `Credentials` with AccessKeyId / SecretAccessKey / SessionToken / Expiration, `AssumedRoleUser`
 * with `arn:aws:sts::<account>:assumed-role/<role>/<session>`; DurationSeconds 900 to the role's
 * maximum, default 3600; errors AccessDenied (403) and ValidationError), refusing what IAM
 * refuses (IAM user guide, "Cross-account policy evaluation logic": the role's trust policy must
 * admit the caller AND the caller's policy must allow sts:AssumeRole on the role).
 */
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { startAll, type AllStandins } from "../../testing";
import { FN, OTHER_ROLE, SOURCE, SOURCE_ROLE, UNTRUSTING_ROLE, twoAccountIam } from "./sts-fixture";
import { rejectionOf } from "../channels/helpers";

describe("local STS AssumeRole (API_AssumeRole.html)", () => {
  let standins: AllStandins;

  beforeAll(async () => {
    standins = await startAll({ aws: { timeScale: 1 } });
  });
  afterAll(async () => {
    await standins?.close();
  });
  afterEach(() => standins.iam.unload());

  /** An STS client signing as `accessKeyId` (a function's keys, or the deployer's `standin`). */
  function sts(accessKeyId: string): STSClient {
    return new STSClient({
      region: "us-east-1",
      endpoint: standins.env.AWS_ENDPOINT_URL_STS,
      credentials: { accessKeyId, secretAccessKey: "x" },
      maxAttempts: 1,
    });
  }
  const fnKey = () => standins.iam.envFor(FN).AWS_ACCESS_KEY_ID;

  /** The SDK error of a call that must fail. */
  const failure = async (call: Promise<unknown>) =>
    (await rejectionOf(() => call)) as Record<string, any>;

  it("returns Credentials and AssumedRoleUser as documented, expiring after the default 3600 s", async () => {
    standins.iam.load(twoAccountIam());
    const before = Date.now();
    const out = await sts(fnKey()).send(
      new AssumeRoleCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: FN }),
    );
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[0-9A-F]{16}$/);
    expect(out.Credentials?.SecretAccessKey).toEqual(expect.any(String));
    expect(out.Credentials?.SessionToken).toEqual(expect.any(String));
    // DurationSeconds defaults to 3600 (API_AssumeRole.html); Expiration is to the second.
    const after = Date.now();
    const expiration = out.Credentials?.Expiration?.getTime() ?? 0;
    expect(expiration).toBeGreaterThanOrEqual(before + 3599_000);
    expect(expiration).toBeLessThanOrEqual(after + 3600_000);
    expect(out.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${SOURCE}:assumed-role/notifier-source-access/${FN}`,
    );
    expect(out.AssumedRoleUser?.AssumedRoleId).toMatch(new RegExp(`^AROA[0-9A-F]+:${FN}$`));
    // The issued keys now stand for the role in its account.
    expect(standins.iam.sessionOf(out.Credentials?.AccessKeyId)).toMatchObject({
      roleArn: SOURCE_ROLE,
      account: SOURCE,
    });
  });

  it("refuses with AccessDenied (403) when the role's trust policy does not admit the caller", async () => {
    standins.iam.load(twoAccountIam());
    const err = await failure(
      sts(fnKey()).send(new AssumeRoleCommand({ RoleArn: UNTRUSTING_ROLE, RoleSessionName: FN })),
    );
    expect(err.name).toBe("AccessDenied");
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toBe(
      `User: arn:aws:sts::123456789012:assumed-role/approval-role/${FN} is not authorized to ` +
        `perform: sts:AssumeRole on resource: ${UNTRUSTING_ROLE}`,
    );
  });

  it("refuses with AccessDenied when the caller's policy lacks sts:AssumeRole on the role, even if the role trusts it", async () => {
    standins.iam.load(twoAccountIam());
    // OTHER_ROLE trusts the function's role, but the function's policy names only SOURCE_ROLE.
    const err = await failure(
      sts(fnKey()).send(new AssumeRoleCommand({ RoleArn: OTHER_ROLE, RoleSessionName: FN })),
    );
    expect(err.name).toBe("AccessDenied");
    expect(standins.iam.denials.at(-1)?.message).toMatch(/no identity-based policy allows/);
  });

  it("refuses a role the program never declared as AccessDenied, like AWS (no existence oracle)", async () => {
    standins.iam.load(twoAccountIam());
    const missing = `arn:aws:iam::${SOURCE}:role/missing`;
    const err = await failure(
      sts(fnKey()).send(new AssumeRoleCommand({ RoleArn: missing, RoleSessionName: FN })),
    );
    expect(err.name).toBe("AccessDenied");
  });

  it("validates DurationSeconds (900 minimum; at most the role's 3600 s maximum) and RoleSessionName", async () => {
    standins.iam.load(twoAccountIam());
    const short = await failure(
      sts(fnKey()).send(
        new AssumeRoleCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: FN, DurationSeconds: 899 }),
      ),
    );
    expect(short.name).toBe("ValidationError");
    const long = await failure(
      sts(fnKey()).send(
        new AssumeRoleCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: FN, DurationSeconds: 3601 }),
      ),
    );
    expect(long.name).toBe("ValidationError");
    const name = await failure(
      sts(fnKey()).send(new AssumeRoleCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: "a b" })),
    );
    expect(name.name).toBe("ValidationError");
  });

  it("lets anyone assume any role while no program's IAM is loaded (like every other stand-in)", async () => {
    const out = await sts("standin").send(
      new AssumeRoleCommand({ RoleArn: OTHER_ROLE, RoleSessionName: "tests" }),
    );
    expect(standins.iam.sessionOf(out.Credentials?.AccessKeyId)?.account).toBe("555566667777");
  });

  it("divides session lifetimes by the stand-ins' time scale", async () => {
    const scaled = await startAll({ aws: { timeScale: 60 } });
    try {
      const client = new STSClient({
        region: "us-east-1",
        endpoint: scaled.env.AWS_ENDPOINT_URL_STS,
        credentials: { accessKeyId: "standin", secretAccessKey: "x" },
      });
      const before = Date.now();
      const out = await client.send(
        new AssumeRoleCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: "tests" }),
      );
      // 3600 s of AWS time = 60 s at 60×.
      const after = Date.now();
      const expiration = out.Credentials?.Expiration?.getTime() ?? 0;
      expect(expiration).toBeGreaterThanOrEqual(before + 59_000);
      expect(expiration).toBeLessThanOrEqual(after + 60_000);
    } finally {
      await scaled.close();
    }
  });
});

/** Digest fixtures for the digest tests: `n` failures, one per pipeline, over a 2-minute window. */
import type { Digest, DigestEntry } from "../../handlers/types";

/** The notifier's home account and region in these tests (HOME_ACCOUNT / AWS_REGION). */
export const HOME = { account: "111111111111", region: "eu-west-1" };

/** Entry `i`: pipeline `p-NN`, 2 s apart from 12:00:00Z; every 5th in another account. */
export function entry(i: number, over: Partial<DigestEntry> = {}): DigestEntry {
  const away = i % 5 === 4;
  const pipeline = `p-${String(i).padStart(2, "0")}`;
  return {
    notificationId: `n-${i}`,
    kind: "failure",
    pipeline,
    account: away ? "222222222222" : HOME.account,
    region: away ? "us-east-1" : HOME.region,
    ...(away && { accountAlias: "payments-prod" }),
    executionId: `e-${i}`,
    stage: "Deploy",
    time: new Date(Date.UTC(2026, 10, 30, 12, 0, 2 * i)).toISOString(),
    consoleUrl: `https://console.aws.amazon.com/codesuite/codepipeline/pipelines/${pipeline}/executions/e-${i}/timeline`,
    summary: `Build failed for ${pipeline}`,
    ...over,
  };
}

/** A digest of entries 0..n-1 (count = `count` ?? n), window 12:00:00Z – 12:02:00Z. */
export function digestOf(n: number, over: Partial<Digest> = {}): Digest {
  const entries = Array.from({ length: n }, (_, i) => entry(i));
  return {
    id: "slack-ops#2026-11-30T12:00:00.000Z",
    channel: "slack-ops",
    windowStart: "2026-11-30T12:00:00.000Z",
    windowEnd: "2026-11-30T12:02:00.000Z",
    count: n,
    pipelines: n,
    entries,
    severity: "critical",
    seeChannel: "slack-oncall",
    ...over,
  };
}

/** Sets HOME_ACCOUNT / AWS_REGION for the test file; returns the restore function. */
export function useHome(): () => void {
  const saved = { account: process.env.HOME_ACCOUNT, region: process.env.AWS_REGION };
  process.env.HOME_ACCOUNT = HOME.account;
  process.env.AWS_REGION = HOME.region;
  return () => {
    if (saved.account === undefined) delete process.env.HOME_ACCOUNT;
    else process.env.HOME_ACCOUNT = saved.account;
    if (saved.region === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = saved.region;
  };
}

/**
 * A storm as `npm start -- --stack storm` makes it: `pipelines` pipelines `svc-01`…, each failing
 * `per` times (executions `e-NN-k`), in rounds: round k fails every pipeline once, one second
 * apart, from 15:00:00Z. So pipeline N's latest is round per-1, and the highest N is the most
 * recent. Window 15:00:00Z – 15:02:00Z; `count` and `pipelines` are the digest's own.
 */
export function stormOf(pipelines: number, per: number, over: Partial<Digest> = {}): Digest {
  const entries: DigestEntry[] = [];
  for (let k = 0; k < per; k++)
    for (let p = 1; p <= pipelines; p++) {
      const name = `svc-${String(p).padStart(2, "0")}`;
      const executionId = `e-${p}-${k}`;
      entries.push({
        notificationId: `n-${p}-${k}`,
        kind: "failure",
        pipeline: name,
        account: HOME.account,
        region: HOME.region,
        executionId,
        stage: "Deploy",
        time: new Date(Date.UTC(2026, 11, 1, 15, 0, 0) + (k * pipelines + p) * 1000).toISOString(),
        consoleUrl: `https://console.aws.amazon.com/codesuite/codepipeline/pipelines/${name}/executions/${executionId}/timeline`,
        summary: `Deployment failed for ${name} in execution ${executionId}`,
      });
    }
  return {
    id: "slack-oncall#2026-12-01T15:00:00.000Z",
    channel: "slack-oncall",
    windowStart: "2026-12-01T15:00:00.000Z",
    windowEnd: "2026-12-01T15:02:00.000Z",
    count: entries.length,
    pipelines,
    entries,
    severity: "critical",
    seeChannel: "slack-oncall",
    ...over,
  };
}

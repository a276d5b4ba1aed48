import { event, startFanoutWorld, type FanoutWorld } from "../support/fanout";

let world: FanoutWorld;
beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());

it("smoke", async () => {
  world.standins.aws.addFailedExecution({ pipeline: "main-app-production-v3", executionId: "3f2b8c1e-7d4a-4e9b-9c61-2a5d8e0f4b17", stage: "Deploy", action: "DeployECS", category: "Deploy", provider: "ECS", errorCode: "JobFailed", summary: "Deployment failed: health checks", revision: { name: "SourceArtifact", revisionId: "abc123", revisionSummary: "Fix the thing", revisionUrl: "https://github.com/acme/app/commit/abc123" } as any });
  const left = await world.drain([event("pipeline-failed")]);
  console.log(left, JSON.stringify(world.standins.receivers.deliveries.map((d) => [d.receiver, d.name]), null, 0));
  console.log(JSON.stringify(world.standins.aws.state.sns.published));
  console.log(JSON.stringify((await world.audit()).map((a) => [a.action, a.channel, a.result])));
  console.log(JSON.stringify(world.standins.receivers.deliveries[0]?.body).slice(0, 1500));
});

import { NotifierSecrets } from "../../infra/secrets";
import {
  childrenOf,
  expectAliasedToStackTop,
  find,
  recordResources,
  settled,
  type Registered,
} from "./mocks";

const COMPONENT = "deploy-notifier:infra:NotifierSecrets";
const SECRET = "aws:secretsmanager/secret:Secret";
const VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const tags = { team: "platform" };
let registered: Registered[];

beforeAll(async () => {
  registered = await recordResources();
  new NotifierSecrets("secrets", {
    stack: "prod",
    channelSecrets: { "slack-eng": { webhookUrl: "https://hooks.slack.com/services/T/B/X" } },
    slackApp: { signingSecret: "s", botToken: "xoxb-t" },
    tags,
  });
  await settled();
});

it("declares one secret per reader, recoverable for 7 days", () => {
  expect(find(registered, SECRET, "channel-secrets").inputs).toEqual({
    description: "deploy-notifier prod: channel webhook URLs and keys",
    recoveryWindowInDays: 7,
    tags,
  });
  expect(find(registered, SECRET, "slack-app").inputs).toEqual({
    description: "deploy-notifier prod: Slack app signing secret and bot token",
    recoveryWindowInDays: 7,
    tags,
  });
});

it("stores each value as JSON in the secret's version", () => {
  expect(find(registered, VERSION, "channel-secrets").inputs).toEqual({
    secretId: "channel-secrets-id",
    secretString: JSON.stringify({
      "slack-eng": { webhookUrl: "https://hooks.slack.com/services/T/B/X" },
    }),
  });
  expect(JSON.parse(find(registered, VERSION, "slack-app").inputs.secretString)).toEqual({
    signingSecret: "s",
    botToken: "xoxb-t",
  });
});

it("passes the values as Pulumi secrets", () => {
  for (const name of ["channel-secrets", "slack-app"]) {
    expect(find(registered, VERSION, name).secretInputs).toEqual(["secretString"]);
  }
});

it("keeps every URN: each child aliased to its old place at the top of the stack", () => {
  const children = childrenOf(registered, COMPONENT);
  expect(children.map((c) => `${c.type} ${c.name}`).sort()).toEqual([
    `${SECRET} channel-secrets`,
    `${SECRET} slack-app`,
    `${VERSION} channel-secrets`,
    `${VERSION} slack-app`,
  ]);
  expectAliasedToStackTop(children);
});

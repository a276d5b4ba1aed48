/**
 * Whether a failed SNS Publish may have reached SNS (`DeliveryError.mayHaveArrived`, red team of
 * round 8): a standard topic's Publish has no idempotency, so a repeat after an unanswered request
 * may be a second text, recorded `ambiguous` (fanout/deliver.ts). A request that never left — no
 * connection — cannot have arrived, and its retry is a clean send. Real SDK, real sockets.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SNSClient } from "@aws-sdk/client-sns";
import { snsPublisher } from "../../handlers/channels/sns-publisher";
import { smsDriver } from "../../handlers/channels/sms";
import { isDeliveryError } from "../../handlers/http";
import type { ChannelConfig } from "../../handlers/types";
import { fixture, makeContext, rejectionOf } from "./helpers";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:channel-sms-oncall";
let silent: Server;

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "AKIDLOCALTEST",
    AWS_SECRET_ACCESS_KEY: "local-test-secret",
  });
  // Reads the request and never answers.
  silent = createServer((req) => req.resume());
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((r) => silent.close(r));
});

/** Publishes one text through `endpoint` with the SDK's request timeout at 300 ms. */
async function publishVia(endpoint: string) {
  const client = new SNSClient({
    maxAttempts: 1,
    endpoint,
    requestHandler: { connectionTimeout: 300, requestTimeout: 300, throwOnRequestTimeout: true },
  });
  const { ctx } = makeContext(
    { type: "sms", phoneNumbers: [] } as unknown as ChannelConfig,
    {},
    {
      sns: snsPublisher(client),
      topicArn: TOPIC,
    },
  );
  return rejectionOf(() => smsDriver.send(fixture("failure-revision"), ctx as never));
}

it("a request timeout after the Publish was sent: may have arrived", async () => {
  const { port } = silent.address() as AddressInfo;
  const err = await publishVia(`http://127.0.0.1:${port}`);
  expect(isDeliveryError(err) && err.retryable).toBe(true);
  expect(isDeliveryError(err) && err.mayHaveArrived).toBe(true);
});

it("a refused connection: never sent, so not", async () => {
  // A port nothing listens on (the silent server's, once closed, would race): bind and release.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));

  const err = await publishVia(`http://127.0.0.1:${port}`);

  expect(isDeliveryError(err) && err.retryable).toBe(true);
  expect(isDeliveryError(err) && err.mayHaveArrived).toBeFalsy();
});

/**
 * The approval function's URL in the sandbox: a Slack interaction (raw body and signature
 * headers, as Slack sends them) becomes the function URL event Lambda would pass, payload 2.0.
 */
import { randomUUID } from "node:crypto";
import { functionUrlInvoke } from "../testing";
import type { World } from "./wiring";

/** What the function URL answers. */
export interface FunctionUrlAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The function URL event (payload format 2.0) of a POST with this body and these headers. */
export function functionUrlEvent(
  rawBody: string,
  headers: Record<string, string>,
): Record<string, unknown> {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/",
    rawQueryString: "",
    headers,
    body: rawBody,
    isBase64Encoded: false,
    requestContext: {
      accountId: "anonymous",
      apiId: "sandbox",
      domainName: "sandbox.lambda-url.us-east-1.on.aws",
      http: {
        method: "POST",
        path: "/",
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

/**
 * Invokes the approval archive as its function URL would; a failed invocation answers 502 like
 * a function URL whose function errors.
 */
export async function callApprovalUrl(
  world: World,
  rawBody: string,
  headers: Record<string, string>,
): Promise<FunctionUrlAnswer> {
  // A function URL with auth type NONE calls the function only if its resource policy allows
  // the public (testing/iam/deliveries.ts); otherwise it answers 403 Forbidden itself.
  const denied = functionUrlInvoke(world.standins.iam, world.declared.approvalArn);
  if (denied) {
    return {
      statusCode: 403,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ Message: "Forbidden" }),
    };
  }
  const result = await world.approval.invoke<Partial<FunctionUrlAnswer>>(
    functionUrlEvent(rawBody, headers),
  );
  if (!result.ok)
    return {
      statusCode: 502,
      headers: { "content-type": "text/plain" },
      body: "approval function failed",
    };
  // The decision work runs asynchronously; let it finish so the page shows the outcome.
  void world.standins.aws.idle();
  return {
    statusCode: result.value?.statusCode ?? 200,
    headers: result.value?.headers ?? {},
    body: result.value?.body ?? "",
  };
}

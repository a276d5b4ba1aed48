/** The function URL answers of the approval handler. */
import type { ApprovalResponse } from "./types";

/** An answer with `statusCode`, a `content-type` (default text/plain) and `body`. */
export function respond(
  statusCode: number,
  body: string,
  contentType = "text/plain",
): ApprovalResponse {
  return { statusCode, headers: { "content-type": contentType }, body };
}

/** The opaque answer to anything unverified: no reason goes back to the caller. */
export function unauthorized(): ApprovalResponse {
  return respond(401, "unauthorized");
}

/** The empty 200 that acknowledges an interaction (and closes a submitted modal). */
export function ok(): ApprovalResponse {
  return respond(200, "");
}

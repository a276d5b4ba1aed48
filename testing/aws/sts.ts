/**
 * The local AWS STS: `AssumeRole` as the STS API reference documents it
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html), in the awsQuery
 * protocol the SDK v3 client speaks (form-encoded `Action=AssumeRole&Version=2011-06-15&…` in,
 * XML out, routed here by the SigV4 credential scope's service `sts`):
 * - `RoleArn` (20–2048 chars, an IAM role ARN) and `RoleSessionName` (2–64 chars of
 *   `[\w+=,.@-]`) are required; `DurationSeconds` is 900 up to the role's maximum session
 *   duration (3600 s unless the role declares `maxSessionDuration`), default 3600, and at most
 *   3600 when a role session assumes another role (role chaining); anything else is a
 *   `ValidationError` (400).
 * - The answer is `<AssumeRoleResponse><AssumeRoleResult>` with `Credentials` (`AccessKeyId`,
 *   `SecretAccessKey`, `SessionToken`, `Expiration` ISO 8601) and `AssumedRoleUser` (`Arn`
 *   `arn:aws:sts::<account>:assumed-role/<role>/<session>`, `AssumedRoleId` `<role id>:<session>`),
 *   plus `PackedPolicySize` when a session policy was passed.
 * - Refusals are `AccessDenied` (403) in the awsQuery error shape (testing/iam/assume.ts decides:
 *   the role's trust policy and the caller's `sts:AssumeRole` permission, from the program's
 *   declared IAM; without a loaded program every role may be assumed, like every other stand-in).
 * The issued keys are registered with the IAM enforcer: calls signed with them act in the role's
 * account (the CodePipeline stand-in keys its pipelines by it) with the role's declared policies.
 * Lifetimes are divided by the stand-ins' time scale, so a 1-hour session lasts 1 scaled hour.
 */
import { createHash, randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { authorizeAssumeRole } from "../iam/assume";
import type { IamEnforcer } from "../iam/enforce";

/** STS's XML namespace (API version 2011-06-15). */
const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** `DurationSeconds` bounds (API_AssumeRole.html): 900 s minimum, 3600 s default and chained max. */
export const STS_MIN_DURATION_SECONDS = 900;
export const STS_DEFAULT_DURATION_SECONDS = 3600;

/** The SigV4 credential scope of a request (`Credential=<key>/<date>/<region>/<service>/aws4_request`). */
export interface SigningScope {
  accessKey: string;
  region: string;
  service: string;
}

/** The credential scope in a SigV4 `Authorization` header, if any. */
export function signingScopeOf(authorization: string | undefined): SigningScope | undefined {
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
    authorization ?? "",
  );
  return m ? { accessKey: m[1], region: m[2], service: m[3] } : undefined;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { "content-type": "text/xml", "content-length": Buffer.byteLength(xml) });
  res.end(xml);
}

/** Answers an STS error in the awsQuery shape (`<ErrorResponse><Error><Type>Sender</Type>…`). */
export function sendStsError(
  res: ServerResponse,
  error: { code: string; status: number; message: string },
): void {
  sendXml(
    res,
    error.status,
    `<ErrorResponse xmlns="${STS_NS}"><Error><Type>Sender</Type><Code>${escapeXml(error.code)}</Code>` +
      `<Message>${escapeXml(error.message)}</Message></Error>` +
      `<RequestId>${randomBytes(16).toString("hex")}</RequestId></ErrorResponse>`,
  );
}

const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** The validation error of an AssumeRole input, if any (`maxSeconds`: the role's maximum). */
function invalidInput(form: URLSearchParams, maxSeconds: number, chained: boolean) {
  const roleArn = form.get("RoleArn") ?? "";
  const session = form.get("RoleSessionName") ?? "";
  const duration = Number(form.get("DurationSeconds") ?? STS_DEFAULT_DURATION_SECONDS);
  if (roleArn.length < 20 || roleArn.length > 2048 || !ROLE_ARN.test(roleArn))
    return `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: must be a role ARN`;
  if (!SESSION_NAME.test(session))
    return `1 validation error detected: Value '${session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and length 2-64`;
  if (!Number.isInteger(duration) || duration < STS_MIN_DURATION_SECONDS)
    return `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to ${STS_MIN_DURATION_SECONDS}`;
  if (chained && duration > STS_DEFAULT_DURATION_SECONDS)
    return "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.";
  if (duration > maxSeconds)
    return "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";
  return undefined;
}

/** Options of {@link handleStsQuery}. */
export interface StsContext {
  iam: IamEnforcer;
  /** How many times faster than AWS the local clock runs (1 = real time). */
  timeScale: number;
  now?: () => Date;
}

/**
 * Answers one STS request (form body; only `AssumeRole` is served). `accessKey` signed it.
 */
export function handleStsQuery(
  sts: StsContext,
  res: ServerResponse,
  body: Buffer,
  accessKey: string | undefined,
): void {
  const form = new URLSearchParams(body.toString("utf8"));
  const action = form.get("Action");
  if (action !== "AssumeRole") {
    sendStsError(res, {
      code: "InvalidAction",
      status: 400,
      message: `sts stand-in: no stand-in for ${action ?? "(no Action)"}`,
    });
    return;
  }
  const roleArn = form.get("RoleArn") ?? "";
  const declared = sts.iam.loaded?.assumableRoles?.[roleArn];
  const chained = sts.iam.sessionOf(accessKey) !== undefined;
  const invalid = invalidInput(form, declared?.maxSessionSeconds ?? 3600, chained);
  if (invalid) return sendStsError(res, { code: "ValidationError", status: 400, message: invalid });
  const denial = authorizeAssumeRole(sts.iam, accessKey, roleArn);
  if (denial) return sendStsError(res, denial);

  const [, account, roleName] = ROLE_ARN.exec(roleArn) as RegExpExecArray;
  const sessionName = form.get("RoleSessionName") as string;
  const seconds = Number(form.get("DurationSeconds") ?? STS_DEFAULT_DURATION_SECONDS);
  const now = sts.now?.() ?? new Date();
  const expiration = new Date(now.getTime() + Math.round((seconds * 1000) / sts.timeScale));
  const accessKeyId = `ASIA${randomBytes(8).toString("hex").toUpperCase()}`;
  const arn = `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`;
  const roleId = `AROA${createHash("sha256").update(roleArn).digest("hex").slice(0, 17).toUpperCase()}`;
  sts.iam.registerSession({ accessKeyId, roleArn, account, sessionName, arn, expiration });
  const packed = form.get("Policy") ? "<PackedPolicySize>6</PackedPolicySize>" : "";
  sendXml(
    res,
    200,
    `<AssumeRoleResponse xmlns="${STS_NS}"><AssumeRoleResult>` +
      `<AssumedRoleUser><Arn>${escapeXml(arn)}</Arn>` +
      `<AssumedRoleId>${roleId}:${escapeXml(sessionName)}</AssumedRoleId></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId>` +
      `<SecretAccessKey>${randomBytes(30).toString("base64")}</SecretAccessKey>` +
      `<SessionToken>${randomBytes(48).toString("base64")}</SessionToken>` +
      `<Expiration>${expiration.toISOString().replace(/\.\d{3}Z$/, "Z")}</Expiration></Credentials>` +
      `${packed}</AssumeRoleResult><ResponseMetadata><RequestId>${randomBytes(16).toString("hex")}` +
      `</RequestId></ResponseMetadata></AssumeRoleResponse>`,
  );
}

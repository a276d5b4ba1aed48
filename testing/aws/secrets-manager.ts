/**
 * Secrets Manager stand-in (awsJson1_1, `X-Amz-Target: secretsmanager.<Op>`): `GetSecretValue`
 * only, the one call the handlers make. Models the documented behaviour of
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html :
 * `SecretId` is the secret's name or its ARN (a full ARN carries a 6-character random suffix
 * after the name), an unknown secret is `ResourceNotFoundException`, and the answer carries
 * `ARN`, `Name`, `SecretString`, `VersionId`, `VersionStages` (`AWSCURRENT`) and `CreatedDate`.
 */
import { STANDIN_ACCOUNT, serviceError, type AwsContext, type JsonOperation } from "./core";

/** The `X-Amz-Target` prefix of Secrets Manager operations. */
export const SECRETS_TARGET = "secretsmanager.";

/** The secret name inside an ARN (`…:secret:<name>-<6 chars>`), suffix removed. */
export function secretNameOf(idOrArn: string): string {
  const marker = ":secret:";
  const at = idOrArn.indexOf(marker);
  if (!idOrArn.startsWith("arn:") || at < 0) return idOrArn;
  return idOrArn.slice(at + marker.length).replace(/-[A-Za-z0-9]{6}$/, "");
}

/** The Secrets Manager operations, over `ctx.state.secrets` (values by ARN or name). */
export function secretsManagerOperations(ctx: AwsContext): Record<string, JsonOperation> {
  function getSecretValue(input: Record<string, unknown>): Record<string, unknown> {
    const secretId = String(input.SecretId ?? "");
    const secrets = ctx.state.secrets;
    let key: string | undefined = secretId in secrets ? secretId : undefined;
    key ??= Object.keys(secrets).find((k) => secretNameOf(k) === secretNameOf(secretId));
    if (key === undefined) {
      throw serviceError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
      );
    }
    ctx.state.secretReads += 1;
    ctx.state.secretReadsById[secretId] = (ctx.state.secretReadsById[secretId] ?? 0) + 1;
    const name = secretNameOf(key);
    return {
      ARN: key.startsWith("arn:")
        ? key
        : `arn:aws:secretsmanager:${ctx.region}:${STANDIN_ACCOUNT}:secret:${name}-AbCdEf`,
      Name: name,
      SecretString: secrets[key],
      VersionId: "00000000-0000-0000-0000-000000000001",
      VersionStages: ["AWSCURRENT"],
      CreatedDate: 1700000000,
    };
  }
  return { GetSecretValue: getSecretValue };
}

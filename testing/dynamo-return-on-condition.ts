/**
 * `ReturnValuesOnConditionCheckFailure` for the local DynamoDB (dynalite 4 ignores the parameter),
 * applied by the proxy in front of dynalite (testing/dynamo.ts) to PutItem, UpdateItem and
 * DeleteItem.
 *
 * What DynamoDB documents (API reference, PutItem / UpdateItem / DeleteItem, request parameter
 * `ReturnValuesOnConditionCheckFailure`: "An optional parameter that returns the item attributes
 * for an … operation that failed a condition check. There is no additional cost associated with
 * requesting a return value aside from the small network and processing overhead of receiving a
 * larger response. No read capacity units are consumed." Valid values: `ALL_OLD | NONE`; and the
 * `ConditionalCheckFailedException` error, members `message` ("The conditional request failed")
 * and `Item` ("Item which caused the ConditionalCheckFailedException", a map of attribute name to
 * AttributeValue — DynamoDB JSON, e.g. `{"pk":{"S":"…"}}`): with `ALL_OLD`, a write refused by its
 * condition answers HTTP 400 with the awsJson 1.0 body
 * `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":…,"Item":{…}}`
 * — the AWS SDK for JavaScript v3 exposes it as `err.Item` (still marshalled). Without the
 * parameter, with `NONE`, or when no item exists under the key (a condition such as
 * `attribute_exists(pk)` refused on a missing item), the error carries no `Item`. Any other value
 * is a `ValidationException` before anything is written.
 *
 * The stand-in reads the item that is there with a strongly consistent GetItem straight to
 * dynalite, behind the proxy: not counted as a client call, not billed (no RCU, as documented),
 * never throttled and never subject to IAM. One difference stays: DynamoDB returns the item it
 * evaluated the condition against, atomically; here a write landing between dynalite's refusal
 * and the read would be seen. TransactWriteItems is not covered: dynalite 4 does not implement
 * transactions at all (it answers UnknownOperationException).
 */
import { request, type IncomingHttpHeaders } from "node:http";

/** The request parameter. */
export const RETURN_ON_CONDITION = "ReturnValuesOnConditionCheckFailure";
/** Its valid values (API reference, PutItem / UpdateItem / DeleteItem). */
const VALID = ["ALL_OLD", "NONE"] as const;
const CONDITION_FAILED = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException";
const TARGET_PREFIX = "DynamoDB_20120810.";

/** A marshalled item (DynamoDB JSON). */
export type WireItem = Record<string, Record<string, unknown>>;

/**
 * The ValidationException message DynamoDB answers for an invalid
 * `ReturnValuesOnConditionCheckFailure` (its validation message form, as dynalite words its own
 * enum checks), or undefined when the value is absent or valid.
 */
export function invalidReturnOnCondition(input: Record<string, unknown>): string | undefined {
  const value = input[RETURN_ON_CONDITION];
  if (value === undefined || VALID.includes(value as (typeof VALID)[number])) return undefined;
  return (
    `1 validation error detected: Value '${String(value)}' at 'returnValuesOnConditionCheckFailure' ` +
    `failed to satisfy constraint: Member must satisfy enum value set: [${VALID.join(", ")}]`
  );
}

/** Whether a write asked for the refusing item and dynalite's answer is a failed condition. */
export function wantsRefusingItem(input: Record<string, unknown>, answer: unknown): boolean {
  return (
    input[RETURN_ON_CONDITION] === "ALL_OLD" &&
    typeof answer === "object" &&
    answer !== null &&
    (answer as { __type?: unknown }).__type === CONDITION_FAILED
  );
}

/** One JSON request straight to dynalite (no proxy: uncounted, unbilled, unthrottled). */
function callDynalite(
  port: number,
  headers: IncomingHttpHeaders,
  operation: string,
  input: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, any> }> {
  const sent = Buffer.from(JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/",
        headers: {
          // dynalite checks that an Authorization header is there, not its signature.
          ...(headers.authorization && { authorization: headers.authorization }),
          ...(headers["x-amz-date"] && { "x-amz-date": headers["x-amz-date"] }),
          "content-type": "application/x-amz-json-1.0",
          "content-length": String(sent.length),
          "x-amz-target": `${TARGET_PREFIX}${operation}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({ status: res.statusCode ?? 500, body: JSON.parse(text || "{}") });
          } catch (err: unknown) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(sent);
  });
}

/** The key of the item a write names: its `Key`, or for a PutItem the key attributes of `Item`. */
async function keyOf(
  port: number,
  headers: IncomingHttpHeaders,
  operation: string,
  input: Record<string, any>,
): Promise<WireItem | undefined> {
  if (operation !== "PutItem") return input.Key as WireItem | undefined;
  // The table's own key schema (any table the proxy serves, not only the audit table).
  const described = await callDynalite(port, headers, "DescribeTable", {
    TableName: input.TableName,
  });
  const schema = described.body.Table?.KeySchema as Array<{ AttributeName: string }> | undefined;
  if (described.status !== 200 || !schema || !input.Item) return undefined;
  return Object.fromEntries(schema.map((k) => [k.AttributeName, input.Item[k.AttributeName]]));
}

/**
 * The item now stored under the key `input` (a PutItem, UpdateItem or DeleteItem request) names,
 * read from dynalite on `port` with a consistent GetItem that no counter sees; undefined when
 * there is none (or the read fails: the error then goes out without `Item`, as from a stand-in
 * without the feature).
 */
export async function refusingItem(
  port: number,
  headers: IncomingHttpHeaders,
  operation: string,
  input: Record<string, any>,
): Promise<WireItem | undefined> {
  try {
    const Key = await keyOf(port, headers, operation, input);
    if (!Key) return undefined;
    const got = await callDynalite(port, headers, "GetItem", {
      TableName: input.TableName,
      Key,
      ConsistentRead: true,
    });
    return got.status === 200 ? (got.body.Item as WireItem | undefined) : undefined;
  } catch {
    return undefined;
  }
}

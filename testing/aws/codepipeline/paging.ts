/**
 * Paging of the List operations as the API reference documents it (API_ListActionExecutions.html,
 * API_ListPipelineExecutions.html): `maxResults` 1–100 (default 100; else ValidationException), a
 * `nextToken` in the answer while more remain, and `InvalidNextTokenException` for a token the
 * same listing did not hand out.
 */
import { serviceError } from "../core";

/** ListActionExecutions and ListPipelineExecutions `maxResults`: "Valid Range: Minimum value of 1. Maximum value of 100." */
const MAX_RESULTS = 100;

/**
 * The page of `all` that `input` asks for (`maxResults`, `nextToken`), and the next token.
 * @throws ValidationException (`maxResults`), InvalidNextTokenException.
 */
export function pageOf<T>(
  all: T[],
  input: Record<string, unknown>,
  listing: string,
): { page: T[]; nextToken?: string } {
  const max = input.maxResults ?? MAX_RESULTS;
  if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
    throw serviceError(
      "ValidationException",
      `Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and ${MAX_RESULTS}`,
    );
  }
  let start = 0;
  if (input.nextToken !== undefined) {
    const [forListing, offset] = Buffer.from(String(input.nextToken), "base64url")
      .toString("utf8")
      .split("|");
    start = Number(offset);
    if (forListing !== listing || !Number.isInteger(start) || start < 0 || start > all.length)
      throw serviceError("InvalidNextTokenException", "The next token is not valid");
  }
  const end = start + max;
  const nextToken =
    end < all.length ? Buffer.from(`${listing}|${end}`, "utf8").toString("base64url") : undefined;
  return { page: all.slice(start, end), nextToken };
}

/** The table's name and the TTL of its items. */
import { requireEnv } from "../aws";
import { ENV } from "../types";

/** Name of the DynamoDB table, from `AUDIT_TABLE`; throws naming the variable when it is unset. */
export function tableName(): string {
  return requireEnv(ENV.table);
}

/** Seconds since the epoch `days` from `now`: the TTL (`expiresAt`) of an item. */
export function expiresAt(days: number, now: Date = new Date()): number {
  return Math.floor(now.getTime() / 1000) + Math.round(days * 86400);
}

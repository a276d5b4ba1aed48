/**
 * What a digest flush builds (fanout/digest-flush.ts): the digest's own ledger slot
 * ({@link digestRef}), the `Digest` of a window's grouped entries ({@link buildDigest}) and what
 * its record lists of it ({@link digestDetail}). Pure: no I/O.
 */
import type { DigestFlush } from "../contracts/digest-flush";
import { timeScale } from "../http";
import type { GroupedEntry } from "../store/digest";
import { MAX_LISTED_IDS } from "../store/digest-record";
import type { DeliveryRef } from "../store/ledger";
import { SEVERITIES, type Digest, type RuntimeConfig } from "../types";
import { digestSlot, seeChannelFor } from "./grouping";

/** The ledger slot of `f`'s digest (its own delivery record, never a notification's). */
export function digestRef(f: Pick<DigestFlush, "channel" | "windowStart">): DeliveryRef {
  return {
    pipeline: `DIGEST#${f.channel}`,
    eventTime: new Date(f.windowStart).toISOString(),
    notificationId: digestSlot(f.channel, f).digestId,
    slot: `digest/${Math.round(f.windowStart)}`,
    channel: f.channel,
  };
}

/**
 * The digest of `entries` (each once, oldest first) for `f`. `windowEnd` is the window's length
 * in AWS time after its start (the sandbox's clock runs faster: TIME_SCALE).
 */
export function buildDigest(
  config: RuntimeConfig,
  f: DigestFlush,
  entries: GroupedEntry[],
): Digest {
  const unique = Object.values(Object.fromEntries(entries.map((e) => [e.notificationId, e])));
  const byTime = [...unique].sort(
    (a, b) => Date.parse(a.time) - Date.parse(b.time) || a.pipeline.localeCompare(b.pipeline),
  );
  const pipelines = new Set(byTime.map((e) => `${e.account}/${e.region}/${e.pipeline}`));
  const rank = (s: string) => {
    const i = (SEVERITIES as readonly string[]).indexOf(s);
    return i < 0 ? SEVERITIES.length : i;
  };
  const severity = byTime.reduce(
    (top, e) => (rank(e.severity) < rank(top) ? e.severity : top),
    byTime[0]?.severity ?? "info",
  );
  const see =
    config.channels[f.channel]?.type === "sms" ? seeChannelFor(config, f.channel) : undefined;
  return {
    id: digestSlot(f.channel, f).digestId,
    channel: f.channel,
    windowStart: new Date(f.windowStart).toISOString(),
    windowEnd: new Date(f.windowStart + f.windowMs * timeScale()).toISOString(),
    count: byTime.length,
    pipelines: pipelines.size,
    entries: byTime.map(({ severity: _s, ...e }) => e),
    severity,
    ...(see !== undefined && { seeChannel: see }),
  };
}

/**
 * What a digest's record says of it (`detail`): `kind` digest, `count`, `pipelines`,
 * `windowStart`, `shortened` when so, and `notifications`, every id up to
 * store/digest-record.ts `MAX_LISTED_IDS` (25 bytes each).
 */
export function digestDetail(digest: Digest, shortened: boolean): Record<string, unknown> {
  return {
    kind: "digest",
    count: digest.count,
    pipelines: digest.pipelines,
    windowStart: digest.windowStart,
    ...(shortened && { shortened: true }),
    notifications: digest.entries.slice(0, MAX_LISTED_IDS).map((e) => e.notificationId),
  };
}

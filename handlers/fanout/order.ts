/**
 * Order without head-of-line blocking (issue 11): the records of a batch run concurrently, and
 * only what must stay in order waits — per (pipeline, channel). Event 2's Slack message waits
 * until event 1 is done with Slack (a failure is announced before its resolving success), but
 * event 2's page does not wait for event 1's Slack message, however long Slack hangs.
 *
 * The batch loop (handler.ts) gives each record a {@link ChannelTurns} from its pipeline's
 * {@link PipelineOrder}, in batch order; record.ts takes a channel's turn before it reads or
 * writes what that channel's delivery depends on (the open incidents a success resolves, the
 * delivery itself) and releases it when done, or as soon as it knows it will not deliver there.
 * Plain objects and closures, no classes or module-level state (handlers/README.md rules 1–3).
 */

/**
 * The turn key of a pipeline's outcome claim (store/ledger.ts `claimOutcome`): the first failure
 * of an execution in batch order owns its message, as when the records ran one after another.
 * Channel names are config keys (config/schema.ts), which never start with `#`.
 */
export const OUTCOME_TURN = "#outcome";

/**
 * How many records of one batch are processed at once. 10 = the event source mapping's declared
 * batch size (infra/settings.ts `batchSize`; tests/fanout/concurrency.test.ts keeps them equal),
 * so no record of a declared batch ever queues behind another record's slow channel: a hanging
 * receiver delays other events' pages by nothing, as issue 11 asks. The bound exists for a batch
 * size raised later (SQS allows up to 10,000 with a batching window): each record holds up to one
 * HTTP request per channel plus its DynamoDB calls, and 10 records × the prod critical tier's 3
 * channels × (1 send + 2 ledger writes) ≈ 90 sockets stay well inside a 256 MB function and the
 * SDK's default of 50 sockets per client.
 */
export const RECORD_CONCURRENCY = 10;

/** A record's hook into its pipeline's order. Every method is idempotent. */
export interface ChannelTurns {
  /** Resolves once every earlier record of the pipeline in this batch has released `key`. */
  turn(key: string): Promise<void>;
  /** This record is done with `key` (a channel name, or {@link OUTCOME_TURN}). */
  release(key: string): void;
  /** This record will use no key but `keep` from now on: the others are released. */
  releaseExcept(keep: readonly string[]): void;
  /** The record ended (whichever way): every key is released. */
  releaseAll(): void;
}

/** No ordering (a record processed on its own, e.g. in a unit test). */
export const UNORDERED: ChannelTurns = {
  turn: () => Promise.resolve(),
  release: () => undefined,
  releaseExcept: () => undefined,
  releaseAll: () => undefined,
};

/** Hands out the turns of one pipeline's records, in batch order. */
export interface PipelineOrder {
  /** The turns of the pipeline's next record. */
  next(): ChannelTurns;
}

/** One record's release state. */
interface Slot {
  /** Keys released, or waited for (with the release function of their promise). */
  keys: Record<string, { released: boolean; done: Promise<void>; resolve: () => void }>;
  /** Keys this record may still use; undefined = any. */
  keep?: readonly string[];
  ended: boolean;
}

/** Whether `slot` is done with `key`. */
function isReleased(slot: Slot, key: string): boolean {
  return (
    slot.ended ||
    (slot.keep !== undefined && !slot.keep.includes(key)) ||
    slot.keys[key]?.released === true
  );
}

/** The promise that `slot` releases `key`. */
function releasedPromise(slot: Slot, key: string): Promise<void> {
  if (isReleased(slot, key)) return Promise.resolve();
  let entry = slot.keys[key];
  if (!entry) {
    let resolve = () => undefined as void;
    const done = new Promise<void>((r) => (resolve = r));
    entry = slot.keys[key] = { released: false, done, resolve };
  }
  return entry.done;
}

/** Marks every key of `slot` that is now released, waking whoever waits for it. */
function wake(slot: Slot): void {
  for (const [key, entry] of Object.entries(slot.keys)) {
    if (!entry.released && isReleased(slot, key)) {
      entry.released = true;
      entry.resolve();
    }
  }
}

/** A new order for one pipeline's records of a batch. */
export function pipelineOrder(): PipelineOrder {
  const slots: Slot[] = [];
  return {
    next(): ChannelTurns {
      const earlier = slots.slice();
      const slot: Slot = { keys: {}, ended: false };
      slots.push(slot);
      const turns: Record<string, Promise<void>> = {};
      const release = (key: string) => {
        const entry = slot.keys[key];
        if (entry) entry.released = true;
        else slot.keys[key] = { released: true, done: Promise.resolve(), resolve: () => undefined };
        entry?.resolve();
      };
      return {
        turn: (key) =>
          (turns[key] ??= Promise.all(earlier.map((s) => releasedPromise(s, key))).then(
            () => undefined,
          )),
        release,
        releaseExcept(keep) {
          slot.keep = slot.keep ? slot.keep.filter((k) => keep.includes(k)) : [...keep];
          wake(slot);
        },
        releaseAll() {
          slot.ended = true;
          wake(slot);
        },
      };
    },
  };
}

/**
 * Runs `tasks` with at most `limit` running at once, starting them in order (so a record never
 * waits for a slot held by a later record of its pipeline, which may be waiting for it).
 * Resolves when all settled; a task's rejection is the caller's to handle inside the task.
 */
export async function runBounded(
  tasks: ReadonlyArray<() => Promise<void>>,
  limit: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++];
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

/**
 * Runs `run` for each of `deliveries` in its channel's turn: the deliveries of one channel start
 * together once every earlier record of the pipeline is done with that channel, and the channel
 * is released when they have all settled. Resolves with every delivery's settled result, in the
 * order of `deliveries` (like `Promise.allSettled`); never rejects.
 */
export function deliverInTurn<D extends { channel: string }, T>(
  turns: ChannelTurns,
  deliveries: readonly D[],
  run: (d: D) => Promise<T>,
): Promise<Array<PromiseSettledResult<T>>> {
  const channels = [...new Set(deliveries.map((d) => d.channel))];
  const results: Record<string, Promise<Array<PromiseSettledResult<T>>>> = {};
  for (const channel of channels) {
    const mine = deliveries.filter((d) => d.channel === channel);
    results[channel] = turns
      .turn(channel)
      .then(() => Promise.allSettled(mine.map((d) => run(d))))
      .finally(() => turns.release(channel));
  }
  return Promise.all(channels.map((c) => results[c])).then(() =>
    Promise.all(
      deliveries.map(async (d) => {
        const mine = deliveries.filter((x) => x.channel === d.channel);
        return (await results[d.channel])[mine.indexOf(d)];
      }),
    ),
  );
}

/**
 * Receiver faults of the sandbox: `--fault slack=503x2` on the command line, the page's fault
 * selector (`POST /api/faults`) and a scenario step's `setup.fault` all end here.
 */
import { RECEIVER_KINDS, type AllStandins, type ReceiverKind } from "../testing";
import type { StepFault } from "./scenario";
import type { Log } from "./wiring";

/** The receivers `--fault` accepts (the receiver kinds and `sns`, for SMS and email). */
export const FAULT_RECEIVERS: readonly string[] = [...RECEIVER_KINDS, "sns"];

/** A fault as the sandbox applies it: a step's fault, optionally for the next `times` requests. */
export type SandboxFault = StepFault & { times?: number };

/**
 * A fault refused for one of its two parts: `field` is `receiver` or `fault` (the names of
 * `POST /api/faults`' JSON fields), `value` what was given, `reason` why, without either
 * wording: `--fault` and the API each say it their way ({@link parseFault}, sandbox.ts).
 */
export class FaultInputError extends Error {
  constructor(
    readonly field: "receiver" | "fault",
    readonly value: string,
    readonly reason: string,
  ) {
    super(`${field} ${JSON.stringify(value)}: ${reason}`);
    this.name = "FaultInputError";
  }
}

/**
 * A fault as `--fault` spells it after the `=` and `POST /api/faults` takes it in `fault`: an
 * error status a receiver answers (4xx or 5xx: RFC 9110 §15, status codes are 100–599, and the
 * ones below 400 are no failure), `timeout` or `reset`, optionally for the next `times` ≥ 1
 * requests (`x0` would be a fault that never applies).
 */
const FAULT_SPEC = /^([45]\d{2}|timeout|reset|off)(?:x([1-9]\d*))?$/;

/**
 * The faults the page's menu offers, in order, as {@link FAULT_SPEC} spells them: one of each
 * kind the sandbox applies (an HTTP status, `timeout`, `reset`) and the counted form (`503x2`: the
 * next two requests). Any other status or count parses too; the page adds the one in force when
 * it is not listed here. Served by `GET /api/sandbox` (`faultMenu`), so the menu has no list of
 * its own.
 */
export const FAULT_MENU: readonly string[] = ["500", "503", "503x2", "429", "timeout", "reset"];

/**
 * The fault `spec` (`500`, `503x2`, `429`, `timeout`, `reset`, `off`) for `receiver`; `off` gives
 * null.
 * @throws FaultInputError naming `receiver` (not a receiver kind nor `sns`) or `fault` (another
 *   shape).
 */
export function faultOf(receiver: string, spec: string): SandboxFault | null {
  if (!FAULT_RECEIVERS.includes(receiver)) {
    throw new FaultInputError(
      "receiver",
      receiver,
      `unknown receiver (one of ${FAULT_RECEIVERS.join(", ")})`,
    );
  }
  const match = FAULT_SPEC.exec(spec);
  if (!match) {
    throw new FaultInputError(
      "fault",
      spec,
      "expected an HTTP error status 400-599 (500), timeout, reset or off, optionally x<times> with times 1 or more (503x2)",
    );
  }
  const [, what, times] = match;
  if (what === "off") return null;
  const fault: SandboxFault = { receiver };
  if (what === "timeout" || what === "reset") fault.kind = what;
  else fault.status = Number(what);
  if (times) fault.times = Number(times);
  return fault;
}

/**
 * Parses `--fault receiver=fault` (`500`, `503x2`, `429`, `timeout`, `reset`, `off`); `off`
 * gives null.
 * @throws when the spec has another shape or names no receiver kind (nor `sns`), worded as the
 *   flag: `--fault slack=bogus: expected <receiver>=<status 400-599|timeout|reset|off>[x<times 1+>]`.
 */
export function parseFault(spec: string): SandboxFault | null {
  const shape = `--fault ${spec}: expected <receiver>=<status 400-599|timeout|reset|off>[x<times 1+>]`;
  const match = /^([a-z-]+)=(.*)$/.exec(spec.trim());
  if (!match) throw new Error(shape);
  try {
    return faultOf(match[1], match[2]);
  } catch (err: unknown) {
    if (!(err instanceof FaultInputError)) throw err;
    if (err.field === "fault") throw new Error(shape, { cause: err });
    const known = FAULT_RECEIVERS.join(", ");
    throw new Error(`--fault ${spec}: unknown receiver ${err.value} (one of ${known})`, {
      cause: err,
    });
  }
}

/** Who set a fault: the user (`--fault`, the page) or a scenario step's own outage. */
export type FaultOrigin = "user" | "scenario";

/** The faults in force and the switch that changes them. */
export interface FaultSwitch {
  /** Receiver → what it does now (`"503 ×2"`, `"timeout"`), for the page. */
  readonly active: Record<string, string>;
  /**
   * Receiver → the same fault as `--fault` spells it after the `=` (`"503x2"`): the value of
   * the page's fault menu ({@link FAULT_MENU}) and of `POST /api/faults`' `fault`.
   */
  readonly specs: Record<string, string>;
  /** Receiver → the fault the user set (`--fault`, the page), as `receiver=spec` would say it. */
  readonly user: Record<string, string>;
  /**
   * Sets or (with null, or a fault without status and kind) clears a receiver's fault; logs
   * the change. A scenario step's fault (`origin: "scenario"`) never replaces or clears a fault
   * the user set on that receiver: the step's outage is skipped instead, and logged once.
   * @throws for a receiver that is neither a receiver kind nor `sns`.
   */
  set(receiver: string, fault: SandboxFault | null, origin?: FaultOrigin): void;
  /**
   * Every change of a receiver's fault, oldest first: when it started failing (`fault` set) and
   * when it stopped (`fault` null); `atMs` is epoch ms of the sandbox's clock. Read by the ops
   * alarm view (ops-alarms.ts: time from "Slack starts failing" to the alarm).
   */
  readonly history: FaultChange[];
}

/** One change in {@link FaultSwitch.history}. */
export interface FaultChange {
  receiver: string;
  /** What it does from now on (`"503"`, `"timeout"`), or null: it answers normally again. */
  fault: string | null;
  origin: FaultOrigin;
  /** Epoch ms (real time). */
  atMs: number;
}

/** A fault as `--fault` spells it after the `=`: `500`, `503x2`, `timeout`. */
function describe(fault: SandboxFault): string {
  return `${fault.kind ?? fault.status}${fault.times ? `x${fault.times}` : ""}`;
}

/** Whether a fault actually does something (a step's lifted fault has neither). */
function isActive(fault: SandboxFault | null): fault is SandboxFault {
  return Boolean(fault && (fault.status || fault.kind));
}

/** Applies faults to the receivers and the SNS stand-in. */
export function createFaultSwitch(standins: AllStandins, log: Log): FaultSwitch {
  const active: Record<string, string> = {};
  const specs: Record<string, string> = {};
  const user: Record<string, string> = {};
  const skipped = new Set<string>();
  const history: FaultChange[] = [];
  return {
    active,
    specs,
    user,
    history,
    set(receiver, fault, origin = "user") {
      if (origin === "scenario" && user[receiver] !== undefined) {
        if (isActive(fault) && !skipped.has(receiver)) {
          log(
            `  ⚡ fault ${receiver}: your ${user[receiver]} stays; the step's own outage is skipped`,
          );
        }
        skipped.add(receiver);
        return;
      }
      if (origin === "user") {
        skipped.delete(receiver);
        if (isActive(fault)) user[receiver] = `${receiver}=${describe(fault)}`;
        else delete user[receiver];
      }
      if (receiver === "sns") {
        standins.aws.faults.sns = isActive(fault)
          ? { code: "InternalError", status: fault.status ?? 500, times: fault.times }
          : null;
      } else {
        if (!(RECEIVER_KINDS as readonly string[]).includes(receiver))
          throw new Error(`unknown receiver ${receiver}`);
        const kind = receiver as ReceiverKind;
        if (!isActive(fault)) standins.receivers.setFault(kind, null);
        else if (fault.kind)
          standins.receivers.setFault(kind, { kind: fault.kind, times: fault.times });
        else
          standins.receivers.setFault(kind, {
            status: fault.status ?? 500,
            times: fault.times,
            // Slack's 429 comes with Retry-After; one second keeps the sandbox quick.
            ...(fault.status === 429 ? { retryAfter: 1 } : {}),
          });
      }
      const before = active[receiver];
      if (!isActive(fault)) {
        delete active[receiver];
        delete specs[receiver];
      } else {
        specs[receiver] = describe(fault);
        active[receiver] = specs[receiver].replace(/x(\d+)$/, " ×$1");
      }
      if (before !== active[receiver]) {
        log(`  ⚡ fault ${receiver}: ${active[receiver] ?? "cleared"}`);
        history.push({ receiver, fault: active[receiver] ?? null, origin, atMs: Date.now() });
      }
    },
  };
}

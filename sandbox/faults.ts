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
 * Parses `receiver=fault` (`500`, `503x2`, `429`, `timeout`, `reset`, `off`); `off` gives null.
 * @throws when the spec has another shape or names no receiver kind (nor `sns`).
 */
export function parseFault(spec: string): SandboxFault | null {
  const match = /^([a-z-]+)=(\d{3}|timeout|reset|off)(?:x(\d+))?$/.exec(spec.trim());
  if (!match)
    throw new Error(`--fault ${spec}: expected <receiver>=<status|timeout|reset|off>[x<times>]`);
  const [, receiver, what, times] = match;
  if (!FAULT_RECEIVERS.includes(receiver)) {
    throw new Error(
      `--fault ${spec}: unknown receiver ${receiver} (one of ${FAULT_RECEIVERS.join(", ")})`,
    );
  }
  if (what === "off") return null;
  const fault: SandboxFault = { receiver };
  if (what === "timeout" || what === "reset") fault.kind = what;
  else fault.status = Number(what);
  if (times) fault.times = Number(times);
  return fault;
}

/** Who set a fault: the user (`--fault`, the page) or a scenario step's own outage. */
export type FaultOrigin = "user" | "scenario";

/** The faults in force and the switch that changes them. */
export interface FaultSwitch {
  /** Receiver → what it does now (`"503 ×2"`, `"timeout"`), for the page. */
  readonly active: Record<string, string>;
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
  const user: Record<string, string> = {};
  const skipped = new Set<string>();
  const history: FaultChange[] = [];
  return {
    active,
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
      if (!isActive(fault)) delete active[receiver];
      else active[receiver] = describe(fault).replace(/x(\d+)$/, " ×$1");
      if (before !== active[receiver]) {
        log(`  ⚡ fault ${receiver}: ${active[receiver] ?? "cleared"}`);
        history.push({ receiver, fault: active[receiver] ?? null, origin, atMs: Date.now() });
      }
    },
  };
}

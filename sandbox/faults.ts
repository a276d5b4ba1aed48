/**
 * Receiver faults of the sandbox: `--fault slack=503x2` on the command line, the page's fault
 * selector (`POST /api/faults`) and a scenario step's `setup.fault` all end here.
 */
import { RECEIVER_KINDS, type AllStandins, type ReceiverKind } from "../testing";
import type { StepFault } from "./scenario";
import type { Log } from "./wiring";

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
  if (!(RECEIVER_KINDS as readonly string[]).includes(receiver) && receiver !== "sns") {
    throw new Error(
      `--fault ${spec}: unknown receiver ${receiver} (one of ${RECEIVER_KINDS.join(", ")}, sns)`,
    );
  }
  if (what === "off") return null;
  const fault: SandboxFault = { receiver };
  if (what === "timeout" || what === "reset") fault.kind = what;
  else fault.status = Number(what);
  if (times) fault.times = Number(times);
  return fault;
}

/** The faults in force and the switch that changes them. */
export interface FaultSwitch {
  /** Receiver → what it does now (`"503 ×2"`, `"timeout"`), for the page. */
  readonly active: Record<string, string>;
  /**
   * Sets or (with null, or a fault without status and kind) clears a receiver's fault; logs
   * the change.
   * @throws for a receiver that is neither a receiver kind nor `sns`.
   */
  set(receiver: string, fault: SandboxFault | null): void;
}

/** Whether a fault actually does something (a step's lifted fault has neither). */
function isActive(fault: SandboxFault | null): fault is SandboxFault {
  return Boolean(fault && (fault.status || fault.kind));
}

/** Applies faults to the receivers and the SNS stand-in. */
export function createFaultSwitch(standins: AllStandins, log: Log): FaultSwitch {
  const active: Record<string, string> = {};
  return {
    active,
    set(receiver, fault) {
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
      else
        active[receiver] = `${fault.kind ?? fault.status}${fault.times ? ` ×${fault.times}` : ""}`;
      if (before !== active[receiver])
        log(`  ⚡ fault ${receiver}: ${active[receiver] ?? "cleared"}`);
    },
  };
}

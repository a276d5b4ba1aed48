/**
 * The deploy-notifier policy pack: `pulumi preview --policy-pack policy` (see the README's
 * "Policy pack" section). The policies themselves are in rules.ts, importable without starting
 * the policy server.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./rules";

new PolicyPack("deploy-notifier", {
  description:
    "deploy-notifier least privilege, encryption, deliverable alarms, log retention and verified public endpoints",
  enforcementLevel: "mandatory",
  policies: POLICIES,
});

/** Every policy of the deploy-notifier pack, in the order a CI log lists them. */
import type { Policies } from "@pulumi/policy";
import {
  encryptedQueues,
  encryptedTables,
  encryptedTopics,
  eventBusNotPublic,
  keyRotation,
  logRetention,
  noUnusedGrants,
  noWildcardActions,
} from "./policies";
import {
  alarmActionsDeliverable,
  functionLogGroups,
  publicUrlVerifiesSignatures,
  rolePolicyConflicts,
} from "./stack-policies";

/** The pack's policies, all `mandatory`: a violation fails `pulumi preview` and `pulumi up`. */
export const POLICIES: Policies = [
  noWildcardActions,
  noUnusedGrants,
  eventBusNotPublic,
  rolePolicyConflicts,
  encryptedQueues,
  encryptedTopics,
  encryptedTables,
  keyRotation,
  alarmActionsDeliverable,
  logRetention,
  functionLogGroups,
  publicUrlVerifiesSignatures,
];

/**
 * The notifier's single DynamoDB table: audit trail, delivery ledger, open incidents and approval
 * decisions (the key design is in handlers/store/keys.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TABLE_SCHEMA } from "../handlers/store/keys";
import { childOptions, componentType, type Tags } from "./component";

/** Inputs of {@link StateTable}. */
export interface StateTableArgs {
  tags: Tags;
}

/**
 * The on-demand table `audit` (its stack-level name, kept whatever the component's name: it holds
 * the audit trail, and a rename would replace it). TTL on `expiresAt`, point-in-time recovery,
 * encryption and deletion protection on, one global index by execution.
 */
export class StateTable extends pulumi.ComponentResource {
  /** The table, physical name chosen by Pulumi (the Lambdas get it in `AUDIT_TABLE`). */
  readonly table: aws.dynamodb.Table;

  constructor(name: string, args: StateTableArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("StateTable"), name, {}, opts);
    const schema = TABLE_SCHEMA;
    const keys = [schema.hashKey, schema.rangeKey, schema.index.hashKey, schema.index.rangeKey];
    this.table = new aws.dynamodb.Table(
      "audit",
      {
        billingMode: "PAY_PER_REQUEST",
        hashKey: schema.hashKey,
        rangeKey: schema.rangeKey,
        attributes: keys.map((key) => ({ name: key, type: "S" })),
        globalSecondaryIndexes: [
          {
            name: schema.index.name,
            hashKey: schema.index.hashKey,
            rangeKey: schema.index.rangeKey,
            projectionType: "ALL",
          },
        ],
        ttl: { attributeName: schema.ttlAttribute, enabled: true },
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true },
        deletionProtectionEnabled: true,
        tags: args.tags,
      },
      childOptions(this),
    );
    this.registerOutputs({ tableName: this.table.name });
  }
}

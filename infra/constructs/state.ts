import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";

/** The checkpoint table: one item per (org, services) and per replay, with the lease. */
export class State extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, "Checkpoints", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      // Finished replay items carry an expiry; scheduled checkpoints never do.
      timeToLiveAttribute: "expiresAt",
      // The cursor is the only record of what was collected: it outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

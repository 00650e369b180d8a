import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { CLAIM_CHECK_PREFIX } from "../../lib/aws/claim-checks.ts";

/** Where each function may write in the dead-letter bucket. */
export const DEAD_LETTER_PREFIXES = { mapper: "dead-letters/", collector: "collector/" } as const;

/**
 * The dead-letter bucket: encrypted, private, TLS only, dead letters expire after 400 days; its
 * access is logged to a second bucket (which cannot log to itself).
 */
export class DeadLetters extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const common = {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Refused documents are evidence until someone looks: kept when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    };
    const accessLogs = new Bucket(this, "AccessLogs", {
      ...common,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(400) }],
    });
    Validations.of(accessLogs).acknowledge({
      id: "AwsSolutions-S1",
      reason: "This is the access-log bucket of the dead-letter bucket; logging it to itself would loop.",
    });
    this.bucket = new Bucket(this, "Bucket", {
      ...common,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: "dead-letter-bucket/",
      lifecycleRules: [
        { expiration: Duration.days(400), abortIncompleteMultipartUploadAfter: Duration.days(7) },
        // Claim checks are deleted once their batch is stored; one left by a failed run is not needed
        // after its page was read again (the next run, minutes later).
        { prefix: CLAIM_CHECK_PREFIX, expiration: Duration.days(7) },
      ],
    });
  }
}

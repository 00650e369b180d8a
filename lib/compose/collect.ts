import { S3ClaimChecks } from "../aws/claim-checks.ts";
import type { CheckpointStore } from "../collect/checkpoint.ts";
import { type CollectOptions, checkpointKey } from "../collect/collector.ts";
import { LambdaDelivery } from "../collect/delivery.ts";
import { DynamoDbCheckpointStore } from "../collect/dynamodb-checkpoint-store.ts";
import { FileCheckpointStore } from "../collect/file-checkpoint-store.ts";
import type { TimeWindow } from "../collect/windows.ts";
import { ConfigurationError } from "../errors.ts";
import type { Settings } from "../settings/schema.ts";
import type { AwsClients } from "./aws.ts";

/** The checkpoint store: the DynamoDB table when CHECKPOINT_TABLE is set, else the local file. */
export function createCheckpointStore(settings: Settings, aws: AwsClients): CheckpointStore {
  return settings.checkpointTable !== undefined
    ? new DynamoDbCheckpointStore(aws.dynamodb(), settings.checkpointTable)
    : new FileCheckpointStore(settings.checkpointFile);
}

/** Delivery to the mapper Lambda (MAPPER_FUNCTION_NAME). */
export function createLambdaDelivery(settings: Settings, aws: AwsClients): LambdaDelivery {
  if (settings.mapperFunctionName === undefined)
    throw new ConfigurationError(["MAPPER_FUNCTION_NAME is required"]);
  return new LambdaDelivery(aws.lambda(), settings.mapperFunctionName, {
    ...(settings.claimCheckBucket !== undefined && {
      claimChecks: new S3ClaimChecks(aws.s3(), settings.claimCheckBucket),
    }),
  });
}

/** The orgs to collect: JUMPCLOUD_ORG_IDS, or the key's own org (undefined) when none are listed. */
export function orgsToCollect(settings: Settings): (string | undefined)[] {
  return settings.jumpcloudOrgIds.length > 0 ? [...settings.jumpcloudOrgIds] : [undefined];
}

/** The collector's options for one target (an org's schedule, or a replay window). */
export function collectOptions(
  settings: Settings,
  target: { orgId?: string | undefined; services?: readonly string[]; replay?: TimeWindow | undefined },
): CollectOptions {
  const services = [...(target.services ?? settings.jumpcloudServices)];
  return {
    key: checkpointKey(target.orgId, services, target.replay),
    ...(target.orgId !== undefined && { orgId: target.orgId }),
    services,
    pageLimit: settings.pageLimit,
    windows: {
      sourceLag: settings.sourceLag,
      overlap: settings.overlap,
      maxWindow: settings.maxWindow,
      initialLookback: settings.initialLookback,
    },
    safetyMarginMs: settings.safetyMargin,
    leaseMs: settings.leaseDuration,
    backfillConcurrency: settings.backfillConcurrency,
    maxEventsPerWindow: settings.maxEventsPerWindow,
    recheckAfter: settings.recheckAfter,
    ...(target.replay && { replay: target.replay }),
  };
}

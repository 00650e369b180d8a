import { fileURLToPath } from "node:url";
import { ArnFormat, Duration, Stack, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type IRole, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, type CfnFunction, Code, LayerVersion, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { CfnBucket, IBucket } from "aws-cdk-lib/aws-s3";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { CLAIM_CHECK_PREFIX } from "../../lib/aws/claim-checks.ts";
import { formatDuration } from "../../lib/duration.ts";
import { cdkBundling } from "../bundling.ts";
import { type DeployConfig, GEOIP_PREFIX, type Timing } from "../config.ts";
import { DEAD_LETTER_PREFIXES } from "./dead-letters.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Variables the Node runtime reads (not settings of ours): source maps in stack traces. */
export const RUNTIME_VARIABLES = { NODE_OPTIONS: "--enable-source-maps" } as const;

/** Readonly props: the context, the timing, and the resources the functions use. */
export interface FunctionsProps {
  readonly config: DeployConfig;
  readonly timing: Timing;
  readonly table: ITable;
  readonly jumpcloudSecret: ISecret;
  readonly elasticsearchSecret: ISecret;
  readonly deadLetters: IBucket;
  /** The MaxMind account: with it, a GeoIP updater function. */
  readonly maxmindSecret?: ISecret | undefined;
  /** Kibana's key (with context kibanaUrl): the mapper's setup reads it. */
  readonly kibanaSecret?: ISecret | undefined;
}

/** Where a layer's file is in the function (layers unpack under /opt). */
const layerPath = (file: string | undefined) => (file === undefined ? undefined : `/opt/${file}`);

const seconds = (ms: number) => Duration.seconds(Math.round(ms / 1000));
const defined = (env: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));

/** The collector and the mapper, bundled by local esbuild, each with its own role and log group. */
export class Functions extends Construct {
  readonly collector: NodejsFunction;
  readonly mapper: NodejsFunction;
  /** Weekly MaxMind download into the bucket's `geoip/` (with context geoIpUpdater). */
  readonly geoIpUpdater: NodejsFunction | undefined;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { config, timing } = props;
    const updaterName = `${Stack.of(this).stackName}-geoip-updater`;
    const updated = (edition: string) =>
      props.maxmindSecret ? `s3://${props.deadLetters.bucketName}/${GEOIP_PREFIX}${edition}.mmdb` : undefined;
    this.mapper = this.lambda("Mapper", "functions/mapper/handler.ts", props, {
      memoryMb: config.mapperMemoryMb,
      timeoutMs: timing.mapperTimeoutMs,
      environment: defined({
        ELASTICSEARCH_URL: config.elasticsearchUrl,
        ELASTICSEARCH_CLOUD_ID: config.elasticsearchCloudId,
        ELASTICSEARCH_SECRET_ARN: props.elasticsearchSecret.secretArn,
        DATA_STREAM_NAMESPACE: config.namespace,
        PRESERVE_ORIGINAL_EVENT: String(config.preserveOriginalEvent),
        PRESERVE_DUPLICATE_CUSTOM_FIELDS: String(config.preserveDuplicateCustomFields),
        GEOIP: config.geoIp,
        GEOIP_CITY_DB: config.geoIpCityS3 ?? layerPath(config.geoIpFolder?.city) ?? updated("GeoLite2-City"),
        GEOIP_ASN_DB: config.geoIpAsnS3 ?? layerPath(config.geoIpFolder?.asn) ?? updated("GeoLite2-ASN"),
        GEOIP_UPDATER: props.maxmindSecret ? updaterName : undefined,
        DEAD_LETTER_BUCKET: props.deadLetters.bucketName,
        DEAD_LETTER_PREFIX: DEAD_LETTER_PREFIXES.mapper,
        KIBANA_URL: config.kibanaUrl,
        KIBANA_SPACE: config.kibanaSpace,
        KIBANA_SECRET_ARN: props.kibanaSecret?.secretArn,
      }),
    });
    // A fixed name lets the collector's policy name itself without a dependency cycle (fan-out).
    const collectorName = `${Stack.of(this).stackName}-collector`;
    this.collector = this.lambda("Collector", "functions/collector/handler.ts", props, {
      memoryMb: config.collectorMemoryMb,
      timeoutMs: timing.collectorTimeoutMs,
      functionName: collectorName,
      environment: defined({
        JUMPCLOUD_API_URL: config.jumpcloudApiUrl,
        JUMPCLOUD_SECRET_ARN: props.jumpcloudSecret.secretArn,
        JUMPCLOUD_ORG_IDS: config.jumpcloudOrgIds.join(",") || undefined,
        JUMPCLOUD_SERVICES: config.jumpcloudServices.join(","),
        CHECKPOINT_TABLE: props.table.tableName,
        MAPPER_FUNCTION_NAME: this.mapper.functionName,
        CLAIM_CHECK_BUCKET: props.deadLetters.bucketName,
        LEASE_DURATION: formatDuration(timing.leaseMs),
        SAFETY_MARGIN: formatDuration(timing.safetyMarginMs),
      }),
    });
    if (config.geoIpFolder) {
      // MaxMind's licence keeps the databases out of this repository: the user's own files ride in a layer.
      this.mapper.addLayers(
        new LayerVersion(this, "GeoIp", {
          code: Code.fromAsset(config.geoIpFolder.path, { exclude: ["*", "!*.mmdb"] }),
          compatibleArchitectures: [Architecture.ARM_64],
          description: "jumpcloud-elastic: GeoIP databases (your MaxMind files)",
        }),
      );
    }
    if (config.vpc) this.inVpc(this.mapper, config.vpc);
    if (config.reservedConcurrency !== undefined) {
      (
        this.collector.node.defaultChild as { reservedConcurrentExecutions?: number }
      ).reservedConcurrentExecutions = config.reservedConcurrency;
    }
    this.grant(props, collectorName);
    this.geoIpUpdater = props.maxmindSecret
      ? this.updater(props, props.maxmindSecret, updaterName)
      : undefined;
  }

  // Downloads into the bucket's geoip/ prefix (whole objects: the mapper re-reads by ETag); reads
  // what is there to compare. The mapper may read those objects, nothing else of the prefix.
  private updater(props: FunctionsProps, secret: ISecret, functionName: string): NodejsFunction {
    const fn = this.lambda("GeoIpUpdater", "functions/geoip-updater/handler.ts", props, {
      memoryMb: 1024,
      timeoutMs: 5 * 60_000,
      functionName,
      environment: {
        MAXMIND_SECRET_ARN: secret.secretArn,
        MAXMIND_DOWNLOAD_URL: props.config.maxmindDownloadUrl,
        GEOIP_UPDATE_TARGET: `s3://${props.deadLetters.bucketName}/${GEOIP_PREFIX}`,
      },
    });
    const role = fn.role as Role;
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secret.secretArn] }),
    );
    const objects = props.deadLetters.arnForObjects(`${GEOIP_PREFIX}*`);
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: [objects] }),
    );
    (this.mapper.role as Role).addToPrincipalPolicy(
      new PolicyStatement({ actions: ["s3:GetObject"], resources: [objects] }),
    );
    const bucketId = Stack.of(this).resolve((props.deadLetters.node.defaultChild as CfnBucket).logicalId);
    const id = `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${GEOIP_PREFIX}*]`;
    const reason =
      "The GeoLite2 databases live under the bucket's geoip/ prefix: the updater may read and replace them there, the mapper only read them.";
    Validations.of(role).acknowledge({ id, reason });
    Validations.of(this.mapper.role as Role).acknowledge({ id, reason });
    return fn;
  }

  // Only the mapper talks to the cluster: it alone goes in the VPC. Set on the CloudFormation
  // resource, so no VPC lookup (synth stays offline) and no managed policy on the role.
  private inVpc(fn: NodejsFunction, vpc: { subnetIds: string[]; securityGroupIds: string[] }): void {
    (fn.node.defaultChild as CfnFunction).vpcConfig = {
      subnetIds: vpc.subnetIds,
      securityGroupIds: vpc.securityGroupIds,
    };
    const role = fn.role as Role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          "ec2:CreateNetworkInterface",
          "ec2:DescribeNetworkInterfaces",
          "ec2:DeleteNetworkInterface",
          "ec2:AssignPrivateIpAddresses",
          "ec2:UnassignPrivateIpAddresses",
        ],
        resources: ["*"],
      }),
    );
    Validations.of(role).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
      reason:
        "Lambda manages the mapper's network interfaces in the VPC: ec2:DescribeNetworkInterfaces has no resource-level permissions, and the interfaces are created by Lambda with names unknown in advance (the statement AWSLambdaVPCAccessExecutionRole would grant).",
    });
  }

  // Least privilege, statement by statement: no `*` where a specific ARN exists.
  private grant(props: FunctionsProps, collectorName: string): void {
    const stack = Stack.of(this);
    const collector = this.collector.role as IRole;
    const mapper = this.mapper.role as IRole;
    collector.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        resources: [props.table.tableArn],
      }),
    );
    collector.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["lambda:InvokeFunction"],
        resources: [
          this.mapper.functionArn,
          stack.formatArn({
            service: "lambda",
            resource: "function",
            resourceName: collectorName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    // Only the call the code makes (grantRead would add DescribeSecret, which nothing calls).
    const readSecret = (role: IRole, secret: ISecret) =>
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secret.secretArn] }),
      );
    readSecret(collector, props.jumpcloudSecret);
    readSecret(mapper, props.elasticsearchSecret);
    if (props.kibanaSecret) readSecret(mapper, props.kibanaSecret);
    mapper.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:PutObject"],
        resources: [props.deadLetters.arnForObjects(`${DEAD_LETTER_PREFIXES.mapper}*`)],
      }),
    );
    // A page holding an event over Lambda's payload limit waits in S3 for the mapper (a claim check).
    const claims = props.deadLetters.arnForObjects(`${CLAIM_CHECK_PREFIX}*`);
    collector.addToPrincipalPolicy(new PolicyStatement({ actions: ["s3:PutObject"], resources: [claims] }));
    mapper.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["s3:GetObject", "s3:DeleteObject"], resources: [claims] }),
    );
    const bucketArn = Stack.of(this).resolve((props.deadLetters.node.defaultChild as CfnBucket).logicalId);
    const claimsResource = `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketArn}.Arn>/${CLAIM_CHECK_PREFIX}*]`;
    const claimsReason =
      "Claim-check keys are made per oversized batch (date, random id): the collector may only put them, the mapper only read and delete them, under that prefix.";
    Validations.of(this.mapper.role as Role).acknowledge(
      {
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketArn}.Arn>/${DEAD_LETTER_PREFIXES.mapper}*]`,
        reason:
          "Dead-letter keys are made per refused document (date, org, _id): the mapper may put objects under its own prefix only, never read or delete.",
      },
      { id: claimsResource, reason: claimsReason },
    );
    Validations.of(this.collector.role as Role).acknowledge({ id: claimsResource, reason: claimsReason });
    const geoIp = [props.config.geoIpCityS3, props.config.geoIpAsnS3].filter(
      (u): u is string => u !== undefined,
    );
    if (geoIp.length > 0) {
      mapper.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ["s3:GetObject"],
          resources: geoIp.map((url) => `arn:${stack.partition}:s3:::${url.replace(/^s3:\/\//, "")}`),
        }),
      );
    }
  }

  private lambda(
    id: string,
    entry: string,
    props: FunctionsProps,
    options: {
      memoryMb: number;
      timeoutMs: number;
      environment: Record<string, string>;
      functionName?: string;
    },
  ): NodejsFunction {
    const logGroup = new LogGroup(this, `${id}Logs`, {
      retention: props.config.logRetentionDays as RetentionDays,
    });
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `jumpcloud-elastic ${id.toLowerCase()}: its log group, and what it uses (see the README)`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [logGroup.logGroupArn],
      }),
    );
    return new NodejsFunction(this, id, {
      entry: `${ROOT}${entry}`,
      handler: "handler",
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: options.memoryMb,
      timeout: seconds(options.timeoutMs),
      role,
      logGroup,
      ...(options.functionName !== undefined && { functionName: options.functionName }),
      environment: { ...options.environment, ...RUNTIME_VARIABLES },
      bundling: {
        ...cdkBundling(),
        forceDockerBundling: false,
        // Licence notices: esbuild's legal comments, and THIRD-PARTY-LICENSES.txt from the metafile.
        metafile: true,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) => [
            `node --import tsx ${ROOT}scripts/licence-notices.ts ${output}`,
          ],
        },
      },
    });
  }
}

import { SecretValue, Validations } from "aws-cdk-lib";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { SECRET_PLACEHOLDER } from "../../lib/aws/secrets.ts";

/** Readonly props of the secrets: existing ARNs to import, or none to create placeholders. */
export interface SecretsProps {
  readonly jumpcloudSecretArn?: string;
  readonly elasticsearchSecretArn?: string;
  /** The MaxMind account of the GeoIP updater (only with one). */
  readonly geoIpUpdater?: boolean;
  readonly maxmindSecretArn?: string;
  /** The Kibana the deploy installs the rules in (only with one). */
  readonly kibanaUrl?: string;
  readonly kibanaSecretArn?: string;
}

/**
 * The JumpCloud and Elasticsearch secrets: imported, or created holding a recognisable
 * placeholder (a CDK Secret without a value would get a random password, which reads as a key).
 */
export class Secrets extends Construct {
  readonly jumpcloud: ISecret;
  readonly elasticsearch: ISecret;
  readonly maxmind: ISecret | undefined;
  /** Kibana's API key; left with its placeholder, the setup uses the Elasticsearch credentials. */
  readonly kibana: ISecret | undefined;

  constructor(scope: Construct, id: string, props: SecretsProps) {
    super(scope, id);
    this.jumpcloud = this.secret(
      "JumpCloud",
      props.jumpcloudSecretArn,
      "JumpCloud API key or service account",
    );
    this.elasticsearch = this.secret(
      "Elasticsearch",
      props.elasticsearchSecretArn,
      "Elasticsearch url and API key",
    );
    this.maxmind = props.geoIpUpdater
      ? this.secret("Maxmind", props.maxmindSecretArn, "MaxMind account id and licence key")
      : undefined;
    this.kibana =
      props.kibanaUrl !== undefined
        ? this.secret(
            "Kibana",
            props.kibanaSecretArn,
            "Kibana API key (optional: unfilled, the Elasticsearch one)",
          )
        : undefined;
  }

  private secret(id: string, arn: string | undefined, what: string): ISecret {
    if (arn !== undefined) return Secret.fromSecretCompleteArn(this, id, arn);
    const secret = new Secret(this, id, {
      description: `jumpcloud-elastic: ${what} (fill with put-secret-value; see the README)`,
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ placeholder: SECRET_PLACEHOLDER })),
    });
    Validations.of(secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason: `The ${what} is issued outside AWS (JumpCloud console, Elasticsearch API, MaxMind account); Secrets Manager cannot rotate it. The functions re-read it after a refusal, so a manual rotation needs no redeploy.`,
    });
    return secret;
  }
}

import { checkFilled, parseSecretArn } from "../aws/secrets.ts";
import { ConfigurationError } from "../errors.ts";
import { DirectoryDatabaseStore, S3DatabaseStore } from "../geoip/stores.ts";
import { type DatabaseStore, type MaxmindAccount, MaxmindDownloads } from "../geoip/update.ts";
import type { Logger } from "../logger.ts";
import type { Settings } from "../settings/schema.ts";
import type { AwsClients } from "./aws.ts";
import type { SourceOf } from "./pipeline.ts";

const MAXMIND_SECRET_EXAMPLE = '{"account_id":"123456","license_key":"..."}';

/** The MaxMind account: MAXMIND_ACCOUNT_ID + MAXMIND_LICENSE_KEY, or the secret MAXMIND_SECRET_ARN names. */
export async function maxmindAccount(
  settings: Settings,
  aws: AwsClients,
  sourceOf: SourceOf,
  options: { fresh?: boolean } = {},
): Promise<MaxmindAccount> {
  const arn = settings.maxmindSecretArn;
  if (arn !== undefined) {
    const reader = aws.secrets((parseSecretArn(arn) as { region: string }).region);
    const text = checkFilled(arn, await reader.read(arn, options), MAXMIND_SECRET_EXAMPLE);
    let value: { account_id?: unknown; license_key?: unknown };
    try {
      value = JSON.parse(text);
    } catch {
      value = {};
    }
    if (typeof value.account_id !== "string" && typeof value.account_id !== "number")
      throw new ConfigurationError([`the secret ${arn} must hold ${MAXMIND_SECRET_EXAMPLE}`]);
    if (typeof value.license_key !== "string" || value.license_key === "")
      throw new ConfigurationError([`the secret ${arn} must hold ${MAXMIND_SECRET_EXAMPLE}`]);
    return {
      accountId: String(value.account_id),
      licenseKey: value.license_key,
      source: `the secret ${arn}`,
    };
  }
  const { maxmindAccountId: accountId, maxmindLicenseKey: licenseKey } = settings;
  if (accountId === undefined || licenseKey === undefined) {
    const missing = [
      accountId === undefined && "MAXMIND_ACCOUNT_ID",
      licenseKey === undefined && "MAXMIND_LICENSE_KEY",
    ]
      .filter(Boolean)
      .join(" and ");
    throw new ConfigurationError([
      `set ${missing}: the account id and a licence key go together (a free GeoLite2 account: https://www.maxmind.com/en/geolite2/signup)`,
    ]);
  }
  return {
    accountId,
    licenseKey,
    source: `${sourceOf("maxmindAccountId")} / ${sourceOf("maxmindLicenseKey")}`,
  };
}

/** Downloads from the settings' MaxMind service with the account (through the CLI's proxy, when given). */
export function maxmindDownloads(
  settings: Settings,
  account: MaxmindAccount,
  logger: Logger,
  fetch?: typeof globalThis.fetch,
): MaxmindDownloads {
  return new MaxmindDownloads(account, {
    baseUrl: settings.maxmindDownloadUrl,
    logger,
    ...(fetch && { fetch }),
  });
}

/** Where updated databases go: a folder (the CLI's `--dir`), or GEOIP_UPDATE_TARGET in S3. */
export function databaseStore(settings: Settings, aws: AwsClients, dir?: string): DatabaseStore {
  if (dir !== undefined) return new DirectoryDatabaseStore(dir);
  // The schema checked its shape (s3://bucket/ and an optional prefix ending in /).
  const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(settings.geoIpUpdateTarget ?? "") ?? [];
  if (bucket === undefined)
    throw new ConfigurationError(["GEOIP_UPDATE_TARGET is required (s3://bucket/prefix/)"]);
  return new S3DatabaseStore(aws.s3(), bucket, prefix ?? "");
}

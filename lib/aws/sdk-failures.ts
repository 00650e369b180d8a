const CREDENTIALS_REFUSED = [
  "ExpiredTokenException",
  "ExpiredToken",
  "UnrecognizedClientException",
  "InvalidSignatureException",
];

/**
 * What a user must set up before any AWS call can work, read from an SDK failure: the region,
 * credentials, or credentials AWS accepts. Undefined for any other failure.
 */
export function awsSetupProblem(error: unknown, what: string): string | undefined {
  const { name = "", message = "" } = (error ?? {}) as { name?: string; message?: string };
  if (/region is missing/i.test(message))
    return `no AWS region for ${what}: set AWS_REGION (or use an AWS_PROFILE that names one)`;
  if (name === "CredentialsProviderError" && /profile/i.test(message))
    return `AWS profile ${profileIn(message)} not found for ${what}: check AWS_PROFILE against ~/.aws/config and ~/.aws/credentials`;
  if (name === "CredentialsProviderError")
    return `no AWS credentials for ${what}: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where a role provides them`;
  if (CREDENTIALS_REFUSED.includes(name))
    return `the AWS credentials were refused (${name}): renew them (aws sso login, or new keys) or check AWS_PROFILE`;
  return undefined;
}

// The SDK names the profile as `profile: [name]` or `profile "name"`.
function profileIn(message: string): string {
  const found = /profile:? *[["']([^\]"']+)/i.exec(message)?.[1];
  return found === undefined ? "(as set)" : `"${found}"`;
}

const UNREACHABLE = [
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
];

/**
 * An SDK failure to reach AWS at all, as one line for `what`: the network (AWS calls do not go
 * through HTTPS_PROXY), the region, or an endpoint override. Undefined for any other failure.
 */
export function awsUnreachable(error: unknown, what: string): string | undefined {
  const {
    code,
    name = "",
    message = "",
  } = (error ?? {}) as { code?: unknown; name?: string; message?: string };
  const reason =
    typeof code === "string" && UNREACHABLE.includes(code)
      ? code
      : UNREACHABLE.find((c) => message.includes(c));
  if (reason === undefined && name !== "TimeoutError") return undefined;
  return `cannot reach AWS for ${what} (${message || name}): check this machine's network and AWS_REGION, or the AWS_ENDPOINT_URL_* you set (AWS calls do not use HTTPS_PROXY)`;
}

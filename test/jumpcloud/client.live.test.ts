import { describe } from "vitest";
import { ApiKeyAuthenticator } from "../../lib/jumpcloud/auth.ts";
import { DirectoryInsightsClient } from "../../lib/jumpcloud/client.ts";
import { resolveApiUrl } from "../../lib/jumpcloud/regions.ts";
import { describeClientContract } from "./contract.ts";

// The client contract against the real API, read-only, on the last 15 minutes (ending 5 minutes
// ago). Runs only with credentials in the environment:
//   JUMPCLOUD_API_KEY=... [JUMPCLOUD_API_URL=eu|in|<url>] [JUMPCLOUD_ORG_IDS=<org>] npx vitest run test/jumpcloud/client.live.test.ts
const key = process.env.JUMPCLOUD_API_KEY;

if (!key) {
  console.warn(
    "live JumpCloud suite skipped: set JUMPCLOUD_API_KEY (and optionally JUMPCLOUD_API_URL, JUMPCLOUD_ORG_IDS)",
  );
}

describe.skipIf(!key)("live JumpCloud API", () => {
  const problems: string[] = [];
  const apiUrl = resolveApiUrl(process.env.JUMPCLOUD_API_URL, problems);
  if (problems.length > 0) throw new Error(problems.join("; "));
  const orgId = process.env.JUMPCLOUD_ORG_IDS?.split(",")[0]?.trim() || undefined;
  const end = new Date(Date.now() - 5 * 60_000);

  describeClientContract("live JumpCloud API", () => ({
    client: () => new DirectoryInsightsClient({ apiUrl, orgId, auth: new ApiKeyAuthenticator(key ?? "") }),
    refused: () => ({
      client: new DirectoryInsightsClient({
        apiUrl,
        auth: new ApiKeyAuthenticator("jumpcloud-elastic-invalid-key"),
      }),
      key: "jumpcloud-elastic-invalid-key",
    }),
    window: () => ({ services: ["all"], start: new Date(end.getTime() - 15 * 60_000), end, orgId }),
  }));
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigurationError } from "../../lib/errors.ts";
import { jsonLogger } from "../../lib/logger.ts";

const context = {
  awsRequestId: "req-entry-1",
  functionName: "jumpcloud-elastic-mapper",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:jumpcloud-elastic-mapper",
  memoryLimitInMB: "512",
  getRemainingTimeInMillis: () => 60_000,
};

/** Captures what the process writes (Powertools' Logger: JSON lines, errors on stderr). */
function captureOutput() {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  return lines;
}

describe("Lambda entry points", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it.each([
    ["mapper", "../../functions/mapper/handler.ts", /ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID/],
    ["collector", "../../functions/collector/handler.ts", /CHECKPOINT_TABLE is required/],
  ])(
    "%s: bad settings fail with a ConfigurationError, logged once with the Lambda context and the stack",
    async (_, module, message) => {
      const { handler } = (await import(module)) as {
        handler: (request: unknown, context: unknown) => Promise<unknown>;
      };
      // Whatever the developer's shell holds, these entry points see no settings.
      for (const name of ["ELASTICSEARCH_URL", "ELASTICSEARCH_CLOUD_ID", "CHECKPOINT_TABLE"])
        vi.stubEnv(name, "");
      const lines = captureOutput();
      const error = await handler({ events: [] }, context).catch((e: unknown) => e);
      vi.restoreAllMocks();
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(String(error)).toMatch(message);
      const logged = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.level === "ERROR");
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({
        function_request_id: "req-entry-1",
        function_name: "jumpcloud-elastic-mapper",
        cold_start: expect.any(Boolean),
        error: { name: "ConfigurationError", message: expect.stringMatching(message) },
      });
      expect((logged[0]?.error as { stack?: string } | undefined)?.stack).toMatch(/\n\s+at /);
      // And one EMF metric line (no API call): the stack's alarm on configuration errors reads it.
      const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => "_aws" in l);
      expect(emf).toHaveLength(1);
      expect(emf[0]).toMatchObject({
        ConfigurationErrors: 1,
        _aws: { CloudWatchMetrics: [{ Namespace: "JumpcloudElastic", Dimensions: [["service"]] }] },
      });
    },
  );
});

describe("the CLI's JSON logger", () => {
  it("writes errors with their stack and cause, not as {}", () => {
    const lines: string[] = [];
    const cause = new Error("socket hang up");
    jsonLogger((l) => lines.push(l)).error("failed", { error: new ConfigurationError(["x"], { cause }) });
    const line = JSON.parse(lines[0] as string);
    expect(line.error).toMatchObject({
      name: "ConfigurationError",
      cause: { name: "Error", message: "socket hang up" },
    });
    expect(line.error.stack).toMatch(/\n\s+at /);
  });
});

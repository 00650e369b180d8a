import { describe, expect, it } from "vitest";
import type { ConfigurationError } from "../../lib/errors.ts";
import { loadJumpcloudConfig } from "../../lib/jumpcloud/config.ts";
import { createClient } from "../../lib/jumpcloud/from-config.ts";

describe("JumpCloud configuration", () => {
  it("defaults to the US region, all services, no credentials", () => {
    expect(loadJumpcloudConfig({})).toStrictEqual({
      apiUrl: "https://api.jumpcloud.com/insights/directory/v1",
      tokenUrl: "https://admin-oauth.id.jumpcloud.com/oauth2/token",
      credentials: { kind: "none" },
      orgIds: [],
      services: ["all"],
      timeoutMs: 30_000,
    });
  });

  it("reads a region, a key, orgs, services and a timeout", () => {
    expect(
      loadJumpcloudConfig({
        JUMPCLOUD_API_URL: "eu",
        JUMPCLOUD_API_KEY: " k ",
        JUMPCLOUD_ORG_IDS: "o1,o2",
        JUMPCLOUD_SERVICES: "sso, radius",
        JUMPCLOUD_TIMEOUT: "10s",
      }),
    ).toMatchObject({
      apiUrl: "https://api.eu.jumpcloud.com/insights/directory/v1",
      tokenUrl: "https://admin-oauth.id.eu.jumpcloud.com/oauth2/token",
      credentials: { kind: "apiKey", apiKey: "k" },
      orgIds: ["o1", "o2"],
      services: ["sso", "radius"],
      timeoutMs: 10_000,
    });
  });

  it("reads service account credentials", () => {
    expect(
      loadJumpcloudConfig({ JUMPCLOUD_CLIENT_ID: "id", JUMPCLOUD_CLIENT_SECRET: "s" }).credentials,
    ).toStrictEqual({
      kind: "oauth",
      clientId: "id",
      clientSecret: "s",
    });
  });

  it("reports every problem at once, without echoing secrets", () => {
    let error: ConfigurationError | undefined;
    try {
      loadJumpcloudConfig({
        JUMPCLOUD_API_URL: "http://api.example.com",
        JUMPCLOUD_API_KEY: "very-secret-key",
        JUMPCLOUD_CLIENT_ID: "id",
        JUMPCLOUD_SERVICES: "all,sso",
        JUMPCLOUD_TIMEOUT: "forever",
      });
    } catch (e) {
      error = e as ConfigurationError;
    }
    expect(error?.problems).toHaveLength(4);
    expect(error?.message).not.toContain("very-secret-key");
  });

  it("needs credentials to build a client", () => {
    expect(() => createClient(loadJumpcloudConfig({}))).toThrow(/JUMPCLOUD_API_KEY/);
  });
});

import { describe, expect, it } from "vitest";
import {
  REGIONS,
  resolveApiUrl,
  serviceListProblem,
  tokenUrlFor,
  unknownServices,
} from "../../lib/jumpcloud/regions.ts";

describe("regions and URLs", () => {
  it.each([
    [undefined, REGIONS.us.apiUrl],
    ["", REGIONS.us.apiUrl],
    ["us", "https://api.jumpcloud.com/insights/directory/v1"],
    ["EU", "https://api.eu.jumpcloud.com/insights/directory/v1"],
    ["in", "https://api.in.jumpcloud.com/insights/directory/v1"],
    ["https://proxy.example.com/di/v1/", "https://proxy.example.com/di/v1"],
    ["http://127.0.0.1:8080/insights/directory/v1", "http://127.0.0.1:8080/insights/directory/v1"],
  ])("resolves %j", (value, url) => {
    const problems: string[] = [];
    expect(resolveApiUrl(value, problems)).toBe(url);
    expect(problems).toStrictEqual([]);
  });

  it.each(["http://api.example.com/v1", "not a url", "https://user:pw@api.example.com"])(
    "refuses %j",
    (value) => {
      const problems: string[] = [];
      resolveApiUrl(value, problems);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/JUMPCLOUD_API_URL/);
    },
  );

  it("pairs each region's API with its token endpoint", () => {
    expect(tokenUrlFor(REGIONS.eu.apiUrl)).toBe("https://admin-oauth.id.eu.jumpcloud.com/oauth2/token");
    expect(tokenUrlFor("https://proxy.example.com")).toBeUndefined();
  });

  it("checks service lists like the API, leaving unknown names to the API", () => {
    expect(serviceListProblem(["sso", "radius"])).toBeUndefined();
    expect(serviceListProblem(["all", "sso"])).toBe("cannot combine `all` with named services");
    expect(serviceListProblem(["privileged_access"])).toBeUndefined();
    expect(unknownServices(["sso", "privileged_access"])).toStrictEqual(["privileged_access"]);
    expect(serviceListProblem([])).toMatch(/at least one/);
  });
});

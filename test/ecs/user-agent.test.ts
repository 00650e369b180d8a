import { describe, expect, it } from "vitest";
import { parseUserAgent } from "../../lib/ecs/user-agent.ts";

describe("parseUserAgent (ua-parser-js 1.x, named like Elasticsearch's user_agent processor)", () => {
  it.each([
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
      {
        name: "Chrome",
        version: "109.0.0.0",
        os: { name: "Mac OS X", version: "10.15.7", full: "Mac OS X 10.15.7" },
        device: { name: "Mac" },
      },
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
      {
        name: "Edge",
        version: "120.0.0.0",
        os: { name: "Windows", version: "10", full: "Windows 10" },
        device: { name: "Other" },
      },
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
      {
        name: "Mobile Safari",
        version: "17.1",
        os: { name: "iOS", version: "17.1", full: "iOS 17.1" },
        device: { name: "iPhone" },
      },
    ],
    [
      "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
      {
        name: "Chrome",
        version: "120.0.0.0",
        os: { name: "Chrome OS", version: "14541.0.0", full: "Chrome OS 14541.0.0" },
        device: { name: "Other" },
      },
    ],
    [
      "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
      {
        name: "Firefox",
        version: "121.0",
        os: { name: "Ubuntu", full: "Ubuntu" },
        device: { name: "Other" },
      },
    ],
    ["curl/8.4.0", { name: "Other", device: { name: "Other" } }],
  ])("%s", (original, expected) => {
    expect(parseUserAgent(original)).toStrictEqual({ original, ...expected });
  });
});

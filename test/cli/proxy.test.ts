import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyFor } from "../../lib/http/proxy.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { cli } from "../helpers/cli.ts";
import { closedPort } from "../helpers/ports.ts";
import { TestProxy } from "../helpers/proxy.ts";

describe("which proxy a URL goes through", () => {
  const proxies = (noProxy: string[]) => ({
    httpsProxy: "http://secure-proxy:3128",
    httpProxy: "http://plain-proxy:3128",
    noProxy,
  });
  it.each([
    ["https://console.jumpcloud.com/insights", [], "http://secure-proxy:3128"],
    ["http://127.0.0.1:9200", [], "http://plain-proxy:3128"],
    ["https://console.jumpcloud.com/x", ["jumpcloud.com"], undefined],
    ["https://console.jumpcloud.com/x", [".jumpcloud.com"], undefined],
    ["https://notjumpcloud.com/x", ["jumpcloud.com"], "http://secure-proxy:3128"],
    ["https://es.internal:9243", ["es.internal:9200"], "http://secure-proxy:3128"],
    ["https://es.internal:9243", ["es.internal:9243"], undefined],
    ["https://es.internal/", ["es.internal:443"], undefined],
    ["http://[::1]:9200", ["::1"], undefined],
    ["https://anything.example", ["*"], undefined],
    ["http://127.0.0.1:9200", ["localhost", " 127.0.0.1 "], undefined],
  ] as const)("%s with NO_PROXY %j: %s", (url, noProxy, expected) => {
    expect(proxyFor(url, proxies([...noProxy]))).toBe(expected);
  });

  it("sends a scheme with no proxy of its own directly", () => {
    expect(proxyFor("http://127.0.0.1:9200", { httpsProxy: "http://p:1", noProxy: [] })).toBeUndefined();
  });
});

describe("the CLI behind a proxy", () => {
  const proxy = new TestProxy();
  const now = Date.now();
  const sim = new JumpcloudSimulator({
    tenants: [
      {
        orgId: "o",
        events: generateTenantEvents({ seed: 5, start: now - 3_600_000, end: now - 120_000, count: 30 }),
      },
    ],
    keys: [{ key: "proxy-key", orgs: ["o"] }],
  });
  const es = new ElasticsearchEmulator();
  let env: Record<string, string> = {};
  let proxyUrl = "";
  let simHost = "";
  let esHost = "";

  beforeAll(async () => {
    proxyUrl = await proxy.start();
    const apiUrl = await sim.start();
    const esUrl = await es.start();
    simHost = new URL(apiUrl).host;
    esHost = new URL(esUrl).host;
    env = { JUMPCLOUD_API_URL: apiUrl, JUMPCLOUD_API_KEY: "proxy-key", ELASTICSEARCH_URL: esUrl };
  });
  afterAll(async () => {
    await Promise.all([proxy.stop(), sim.stop(), es.stop()]);
  });

  it("sends JumpCloud and Elasticsearch traffic through HTTP_PROXY / HTTPS_PROXY", async () => {
    proxy.targets.length = 0;
    const fetched = await cli(["fetch", "--start", "2h"], { env: { ...env, HTTP_PROXY: proxyUrl } });
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout.trim().split("\n")).toHaveLength(30);
    const setup = await cli(["setup"], { env: { ...env, HTTP_PROXY: proxyUrl } });
    expect(setup.code, setup.stderr).toBe(0);
    expect(new Set(proxy.targets)).toStrictEqual(new Set([simHost, esHost]));
  });

  it("goes directly to what NO_PROXY names", async () => {
    proxy.targets.length = 0;
    const noProxy = { ...env, HTTP_PROXY: proxyUrl, NO_PROXY: `localhost,${simHost}` };
    expect((await cli(["fetch", "--start", "2h"], { env: noProxy })).code).toBe(0);
    expect((await cli(["setup"], { env: noProxy })).code).toBe(0);
    expect(proxy.targets).toStrictEqual([esHost]);
  });

  it("shows the route in doctor, without the proxy's password", async () => {
    const withUser = proxyUrl.replace("http://", "http://me:s3cret@");
    const { stdout } = await cli(["doctor"], { env: { ...env, HTTP_PROXY: withUser, NO_PROXY: esHost } });
    expect(stdout).toMatch(
      new RegExp(
        `^✓ Configuration: valid \\(JumpCloud credentials: JUMPCLOUD_API_KEY; JumpCloud via proxy ${proxyUrl.replace(/[./]/g, "\\$&")}, Elasticsearch direct`,
        "m",
      ),
    );
    expect(stdout).not.toContain("s3cret");
  });

  it("skips the checks a wrong proxy setting would falsify, in doctor", async () => {
    const { stdout, code } = await cli(["doctor"], { env: { ...env, HTTP_PROXY: "notaurl" } });
    expect(stdout).toMatch(/^✗ Configuration: HTTP_PROXY must be a URL/m);
    expect(stdout).toMatch(/^- JumpCloud: skipped \(fix configuration first\)/m);
    expect(stdout).toMatch(/^- Elasticsearch: skipped \(fix configuration first\)/m);
    expect(code).toBe(1);
  });

  it("says which proxy it could not reach, in one line", async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const { code, stderr } = await cli(["setup"], { env: { ...env, HTTP_PROXY: down } });
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).toMatch(
      new RegExp(
        `^error: .*ECONNREFUSED ${new URL(down).host} \\(through proxy ${down.replace(/[./]/g, "\\$&")}\\) \\(the cluster of ELASTICSEARCH_URL, ${esHost}\\)$`,
        "m",
      ),
    );
    expect(code).toBe(1);
    const jumpcloud = await cli(["fetch", "--start", "1h"], {
      env: { ...env, HTTP_PROXY: down, JUMPCLOUD_TIMEOUT: "1s" },
    });
    expect(jumpcloud.stderr).toMatch(
      new RegExp(
        `^error: .*network error ECONNREFUSED at proxy ${down.replace(/[./]/g, "\\$&")} reaching 127`,
        "m",
      ),
    );
    expect(jumpcloud.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it("says a proxy wants credentials (407), for either service", async () => {
    const picky = new TestProxy({ refuse: 407 });
    const url = await picky.start();
    try {
      const es = await cli(["setup"], { env: { ...env, HTTP_PROXY: url } });
      expect(es.stderr).toMatch(
        /Bad response: 407 \(through proxy .* \(it wants credentials: http:\/\/user:password@host:port\)\)/,
      );
      expect(es.code).toBe(1);
      const jc = await cli(["fetch", "--start", "1h"], { env: { ...env, HTTP_PROXY: url } });
      expect(jc.stderr).toMatch(
        /^error: .*HTTP 407 from proxy .* \(it wants credentials: http:\/\/user:password@host:port\) reaching 127/m,
      );
      expect(jc.code).toBe(1);
    } finally {
      await picky.stop();
    }
  }, 30_000);
});

import { type ProxySettings, proxyFor, shownProxy } from "../lib/http/proxy.ts";

/**
 * `fetch` through the configured proxies (per target, NO_PROXY honoured), or undefined when none
 * is set. undici is loaded only then: Node's own fetch has no proxy support before Node 24's
 * NODE_USE_ENV_PROXY. The CLI's only: the collector Lambda reaches JumpCloud directly, and its
 * bundle stays without undici.
 */
export async function proxiedFetch(proxies: ProxySettings): Promise<typeof fetch | undefined> {
  if (proxies.httpsProxy === undefined && proxies.httpProxy === undefined) return undefined;
  const undici = await import("undici");
  const agents = new Map<string, InstanceType<typeof undici.ProxyAgent>>();
  const agentFor = (proxy: string) => {
    let agent = agents.get(proxy);
    if (!agent) {
      agent = new undici.ProxyAgent(proxy);
      agents.set(proxy, agent);
    }
    return agent;
  };
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const proxy = proxyFor(url, proxies);
    if (proxy === undefined) return globalThis.fetch(input, init);
    // undici's fetch and Response are the ones Node's own are built from: the same interface.
    try {
      return (await undici.fetch(url, {
        ...(init as Parameters<typeof undici.fetch>[1]),
        dispatcher: agentFor(proxy),
      })) as unknown as Response;
    } catch (error) {
      throw atProxy(error, proxy);
    }
  }) as typeof fetch;
}

// A refusal or reset on the way names the proxy: "reaching api.jumpcloud.com" alone would send the
// user looking at JumpCloud. The HTTP layer reads the cause's code, so the proxy goes there.
function atProxy(error: unknown, proxy: string): unknown {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (!(error instanceof TypeError) || typeof cause?.code !== "string") return error;
  return new TypeError(error.message, {
    cause: { ...cause, code: `${cause.code} at proxy ${shownProxy(proxy)}` },
  });
}

/** The JumpCloud HTTP seams of a CLI command: its fetch through the proxies, when any is set. */
export async function jumpcloudHttp(proxies: ProxySettings): Promise<{ fetch?: typeof fetch }> {
  const viaProxy = await proxiedFetch(proxies);
  return viaProxy ? { fetch: viaProxy } : {};
}

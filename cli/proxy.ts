import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { type ProxySettings, proxyFor, proxyHint, shownProxy } from "../lib/http/proxy.ts";

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
      throw await atProxy(error, proxy, url);
    }
  }) as typeof fetch;
}

// A refusal or reset on the way names the proxy: "reaching api.jumpcloud.com" alone would send the
// user looking at JumpCloud. The HTTP layer reads the cause's code, so the proxy goes there.
async function atProxy(error: unknown, proxy: string, target: string): Promise<unknown> {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (!(error instanceof TypeError) || cause === undefined) return error;
  const shown = shownProxy(proxy);
  if (typeof cause.code === "string")
    return new TypeError(error.message, { cause: { ...cause, code: `${cause.code} at proxy ${shown}` } });
  // undici loses a refused tunnel's status ("Request was cancelled"): ask the proxy once more.
  const status = await tunnelStatus(proxy, target);
  if (status === undefined || status === 200) return error;
  return new TypeError(error.message, {
    cause: { ...cause, code: `HTTP ${status} from proxy ${shown}${proxyHint(status)}` },
  });
}

/** The status a proxy answers a tunnel to `target` with (5 s at most), or undefined. */
function tunnelStatus(proxy: string, target: string): Promise<number | undefined> {
  const url = new URL(proxy);
  const to = new URL(target);
  const auth = url.username
    ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`
    : undefined;
  return new Promise((resolve) => {
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)({
      host: url.hostname,
      port: url.port || (url.protocol === "https:" ? 443 : 80),
      method: "CONNECT",
      path: `${to.hostname}:${to.port || (to.protocol === "https:" ? 443 : 80)}`,
      timeout: 5_000,
      ...(auth && { headers: { "proxy-authorization": auth } }),
    });
    request.on("connect", (response, socket) => {
      socket.destroy();
      resolve(response.statusCode);
    });
    request.on("response", (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(undefined));
    request.end();
  });
}

/** The HTTP seams of a CLI command (JumpCloud, Kibana): its fetch through the proxies, when any is set. */
export async function cliHttp(proxies: ProxySettings): Promise<{ fetch?: typeof fetch }> {
  const viaProxy = await proxiedFetch(proxies);
  return viaProxy ? { fetch: viaProxy } : {};
}

/** The proxies the CLI's HTTP traffic goes through, as curl and most tools read them from the environment. */
export interface ProxySettings {
  /** For https:// targets (`HTTPS_PROXY`). */
  readonly httpsProxy?: string | undefined;
  /** For http:// targets (`HTTP_PROXY`). */
  readonly httpProxy?: string | undefined;
  /** Hosts reached directly (`NO_PROXY`): `*`, a host or domain (`example.com` and its subdomains), an IP, each with an optional `:port`. */
  readonly noProxy: readonly string[];
}

const defaultPort = (protocol: string) => (protocol === "https:" ? "443" : "80");

// Brackets of an IPv6 literal are not part of the host a NO_PROXY entry names.
const bare = (host: string) => host.replace(/^\[|\]$/g, "").toLowerCase();

/** Whether one NO_PROXY entry covers `url` (curl's rules: a domain covers its subdomains, a leading dot is optional). */
function bypasses(entry: string, url: URL): boolean {
  const text = entry.trim().toLowerCase();
  if (text === "") return false;
  if (text === "*") return true;
  // `[::1]:9200` and `host:9200` carry a port; a bare IPv6 address (`::1`) has colons but none.
  const bareIpv6 = !text.startsWith("[") && (text.match(/:/g) ?? []).length > 1;
  const [, hostPart = "", port] = bareIpv6
    ? [text, text, undefined]
    : (/^\[?(.*?)\]?(?::(\d+))?$/.exec(text) ?? []);
  if (port !== undefined && port !== (url.port || defaultPort(url.protocol))) return false;
  const domain = bare(hostPart).replace(/^\*?\./, "");
  const host = bare(url.hostname);
  return host === domain || host.endsWith(`.${domain}`);
}

/** The proxy `url` goes through, or undefined when it goes directly (no proxy set, or NO_PROXY covers it). */
export function proxyFor(url: string | URL, proxies: ProxySettings): string | undefined {
  const target = new URL(url);
  const proxy = target.protocol === "https:" ? proxies.httpsProxy : proxies.httpProxy;
  if (proxy === undefined || proxies.noProxy.some((entry) => bypasses(entry, target))) return undefined;
  return proxy;
}

/** The proxy URL as it may be shown: without its user and password. */
export function shownProxy(proxy: string): string {
  const url = new URL(proxy);
  url.username = "";
  url.password = "";
  return url.toString().replace(/\/$/, "");
}

/** What a proxy's refusal asks of the user, after its status. */
export function proxyHint(status: string | number): string {
  return String(status) === "407" ? " (it wants credentials: http://user:password@host:port)" : "";
}

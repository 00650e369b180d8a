import { UAParser } from "ua-parser-js";

/** ECS `user_agent` fields parsed from a raw User-Agent header. */
export interface UserAgentFields {
  original: string;
  name: string;
  version?: string;
  os?: { name: string; version?: string; full: string };
  device: { name: string };
}

// ua-parser-js and Elasticsearch's user_agent processor (uap-core) name some things differently;
// documents should read like the ones Elastic's tooling produces.
const BROWSER_NAMES: Readonly<Record<string, string>> = {
  "Mobile Chrome": "Chrome Mobile",
  "Mobile Firefox": "Firefox Mobile",
  "Chrome Headless": "HeadlessChrome",
  "Chrome WebView": "Chrome Mobile WebView",
  "Samsung Browser": "Samsung Internet",
  "Opera Mobi": "Opera Mobile",
};

const OS_NAMES: Readonly<Record<string, string>> = {
  "Mac OS": "Mac OS X",
  macOS: "Mac OS X",
  "Chromium OS": "Chrome OS",
};

const DEVICE_MODELS: Readonly<Record<string, string>> = {
  Macintosh: "Mac",
};

const parser = new UAParser();

/** Parses a raw User-Agent string with ua-parser-js 1.x, named as Elasticsearch's user_agent processor names things. */
export function parseUserAgent(original: string): UserAgentFields {
  parser.setUA(original);
  const { browser, os, device } = parser.getResult();

  let name = browser.name ? (BROWSER_NAMES[browser.name] ?? browser.name) : "Other";
  if (name === "Chrome" && os.name === "Android" && device.type === "mobile") name = "Chrome Mobile";

  const out: UserAgentFields = { original, name, device: { name: deviceName(device) } };
  if (browser.version) out.version = browser.version;
  if (os.name) {
    const osName = OS_NAMES[os.name] ?? os.name;
    out.os = os.version
      ? { name: osName, version: os.version, full: `${osName} ${os.version}` }
      : { name: osName, full: osName };
  }
  return out;
}

function deviceName(device: UAParser.IDevice): string {
  if (!device.model) return "Other";
  const model = DEVICE_MODELS[device.model] ?? device.model;
  if (model !== device.model || !device.vendor || device.vendor === "Apple") return model;
  return `${device.vendor} ${model}`;
}

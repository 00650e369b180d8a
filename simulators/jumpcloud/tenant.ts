import { Random } from "./random.ts";

/** Services a generated tenant produces events for (JumpCloud's names). */
export const SERVICES = [
  "directory",
  "sso",
  "radius",
  "ldap",
  "systems",
  "mdm",
  "password_manager",
  "software",
] as const;
export type Service = (typeof SERVICES)[number];

/** A generated event and the instant it describes (epoch ms; the text may carry more precision). */
export interface GeneratedEvent {
  at: number;
  service: Service;
  event: Record<string, unknown>;
}

/** What a tenant looks like. */
export interface TenantOptions {
  seed: number;
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
  count: number;
  services?: readonly Service[];
  /** Organization id stamped on every event. */
  organization?: string;
}

// Relative volumes seen in busy tenants: authentications dominate.
const WEIGHTS: Readonly<Record<Service, number>> = {
  directory: 20,
  sso: 25,
  radius: 15,
  ldap: 15,
  systems: 12,
  mdm: 6,
  password_manager: 4,
  software: 3,
};

// Includes the addresses MaxMind's test databases know, so GeoIP enrichment has work to do.
// Addresses MaxMind's test databases know (so GeoIP finds something), plus private and documentation ones.
const KNOWN_IPS = [
  "81.2.69.144",
  "89.160.20.112",
  "216.160.83.56",
  "2001:218::1",
  "2a02:cf40::1",
  "175.16.199.1",
  "10.0.2.2",
  "192.168.1.20",
  "203.0.113.7",
  "2001:db8::42",
];

const USERS = [
  "jane.doe",
  "john.smith",
  "a.khan",
  "m.garcia",
  "li.wei",
  "o.okafor",
  "s.nakamura",
  "svc-backup",
];
const DOMAIN = "example.com";

const USER_AGENTS = [
  {
    device: "Mac",
    major: "120",
    minor: "0",
    name: "Chrome",
    os: "Mac OS X",
    os_full: "Mac OS X 10.15.7",
    os_major: "10",
    os_minor: "15",
    os_name: "Mac OS X",
    os_patch: "7",
    os_version: "10.15.7",
    patch: "0",
    version: "120.0.0.0",
  },
  {
    device: "Other",
    major: "121",
    minor: "0",
    name: "Firefox",
    os: "Windows",
    os_full: "Windows 10",
    os_major: "10",
    os_name: "Windows",
    os_version: "10",
    version: "121.0",
    build: "",
  },
  {
    device: "iPhone",
    major: "17",
    minor: "1",
    name: "Mobile Safari",
    os: "iOS",
    os_full: "iOS 17.1",
    os_major: "17",
    os_minor: "1",
    os_name: "iOS",
    os_version: "17.1",
    version: "17.1",
  },
];

const GEO = [
  {
    continent_code: "EU",
    country_code: "GB",
    region_code: "ENG",
    region_name: "England",
    timezone: "Europe/London",
    latitude: 51.5142,
    longitude: -0.0931,
  },
  {
    continent_code: "NA",
    country_code: "US",
    region_code: "WA",
    region_name: "Washington",
    timezone: "America/Los_Angeles",
    latitude: 47.2513,
    longitude: -122.3149,
  },
  {
    continent_code: "EU",
    country_code: "SE",
    region_code: "E",
    region_name: "Ostergotland",
    timezone: "Europe/Stockholm",
  },
];

interface Context {
  r: Random;
  ips: readonly string[];
  at: number;
  organization: string;
  seq: number;
}

// A tenant's users come from a few thousand addresses: enough that a GeoIP cache is not all hits.
function addressPool(r: Random, size: number): string[] {
  const pool: string[] = [];
  for (let i = 0; i < size; i++) {
    pool.push(
      r.chance(0.9)
        ? `${r.int(1, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`
        : `2a0${r.int(0, 9)}:${r.hex(4)}:${r.hex(4)}::${r.hex(2)}`,
    );
  }
  return pool;
}

function ip(c: Context): string {
  return c.r.chance(0.2) ? c.r.pick(KNOWN_IPS) : c.r.pick(c.ips);
}

function objectId(c: Context): string {
  return (
    Math.floor(c.at / 1000)
      .toString(16)
      .padStart(8, "0") +
    c.r.hex(10) +
    (c.seq % 0xffffff).toString(16).padStart(6, "0")
  );
}

// Timestamp precision differs by service: milliseconds, nanoseconds (SSO) or seconds (RADIUS).
function timestamp(c: Context, precision: "ms" | "ns" | "s"): string {
  const iso = new Date(c.at).toISOString();
  if (precision === "s") return `${iso.slice(0, 19)}Z`;
  if (precision === "ns") return `${iso.slice(0, 23)}${c.r.int(0, 999_999).toString().padStart(6, "0")}Z`;
  return iso;
}

function user(c: Context): { username: string; email: string; id: string } {
  const username = c.r.pick(USERS);
  return { username, email: `${username}@${DOMAIN}`, id: `6${c.r.hex(23)}` };
}

function base(c: Context, service: Service, eventType: string, precision: "ms" | "ns" | "s" = "ms") {
  return {
    "@version": "1",
    id: objectId(c),
    event_type: eventType,
    service,
    organization: c.organization,
    timestamp: timestamp(c, precision),
  };
}

type Template = (c: Context) => Record<string, unknown>;

// Templates extend `base` with Object.assign: in V8 a spread followed by more properties
// (`{ ...base, more }`) builds each object about 30 times slower, which a million events feel.
const TEMPLATES: Readonly<Record<Service, Template>> = {
  directory: (c) => {
    const u = user(c);
    const kind = c.r.pick([
      "admin_login_attempt",
      "user_login_attempt",
      "user_update",
      "user_create",
      "association_change",
    ]);
    const event: Record<string, unknown> = Object.assign(base(c, "directory", kind), {
      client_ip: ip(c),
      geoip: c.r.pick(GEO),
      useragent: c.r.pick(USER_AGENTS),
      provider: null,
      initiated_by: { id: u.id, type: kind.startsWith("admin") ? "admin" : "user", email: u.email },
    });
    if (kind.endsWith("login_attempt")) {
      event.success = c.r.chance(0.9);
      event.mfa = c.r.chance(0.7);
      if (!event.success) event.error_message = "invalid credentials";
    } else {
      event.auth_method = c.r.pick(["session", "api key", "other"]);
      event.resource = { id: c.r.hex(24), type: "user", username: c.r.pick(USERS) };
      // `changes[].to` mixes types within one event, and `from` may be absent.
      event.changes = [
        { field: "active", to: c.r.chance(0.5) },
        { field: "displayName", from: "", to: "Jane D." },
        { field: "emails", to: [{ primary: true, type: "work", value: u.email }] },
        { field: "attributes", to: { department: "IT", costCenter: c.r.int(100, 999) } },
      ];
      event.success = true;
      if (c.r.chance(0.3)) event.correlation = {};
    }
    return event;
  },
  sso: (c) => {
    const u = user(c);
    const ok = c.r.chance(0.85);
    const auth = (): Record<string, unknown> => {
      const context: Record<string, unknown> = {
        auth_methods: c.r.chance(0.5) ? { password: { success: true } } : {},
        policies_applied: [
          {
            id: c.r.hex(24),
            name: "Require MFA",
            metadata: { action: "ALLOW", resource_type: "APPLICATION" },
          },
        ],
      };
      if (c.r.chance(0.3)) {
        context.jumpcloud_protect_device = {
          id: c.r.hex(24),
          ip: ip(c),
          make: "Apple",
          model: "iPhone",
          os: "iOS",
          os_version: "17.1",
        };
      }
      return context;
    };
    return Object.assign(base(c, "sso", "sso_auth", "ns"), {
      client_ip: ip(c),
      geoip: c.r.pick(GEO),
      useragent: c.r.pick(USER_AGENTS),
      provider: "",
      initiated_by: { id: u.id, type: "user", username: u.username },
      // No `success` on SSO events: the outcome is sso_token_success.
      sso_token_success: ok,
      error_message: ok ? "" : "application unreachable",
      idp_initiated: c.r.chance(0.5),
      mfa: c.r.chance(0.6),
      application: {
        id: c.r.hex(24),
        name: c.r.pick(["google", "slack", "aws"]),
        display_label: "App",
        sso_type: "saml",
        sso_url: "https://sso.jumpcloud.com/saml2/app",
      },
      auth_context: auth(),
    });
  },
  radius: (c) => {
    const username = c.r.pick(USERS);
    const ok = c.r.chance(0.8);
    return Object.assign(base(c, "radius", "radius_auth_attempt", "s"), {
      id: c.r.guid(),
      client_ip: ip(c),
      username,
      initiated_by: { type: "user", username },
      success: ok,
      error_message: ok ? null : "mschap: MS-CHAP2-Response is incorrect",
      auth_type: "eap",
      eap_type: "MSCHAPv2",
      nas_mfa_state: "DISABLED",
      mfa: false,
      mfa_meta: { type: "none" },
      outer: { eap_type: "PEAP", username, error_message: null },
      auth_meta: { auth_idp: "JUMPCLOUD", userid_type: "USERNAME", user_password_enabled: true },
    });
  },
  ldap: (c) => {
    const username = c.r.pick(USERS);
    const bind = c.r.chance(0.6);
    const event: Record<string, unknown> = Object.assign(
      base(c, "ldap", bind ? "ldap_bind" : "ldap_search"),
      {
        client_ip: ip(c),
        connection_id: Buffer.from(c.r.hex(16)).toString("base64"),
        operation_number: c.r.int(0, 20),
        start_tls: c.r.chance(0.5),
        tls_established: c.r.chance(0.8),
        initiated_by: { type: "user", username },
        username,
        success: c.r.chance(0.9),
      },
    );
    if (bind) {
      event.dn = `uid=${username},ou=Users,o=${c.organization},dc=jumpcloud,dc=com`;
      event.auth_method = "simple";
      event.mech = "simple";
    } else {
      event.base = `ou=Users,o=${c.organization},dc=jumpcloud,dc=com`;
      event.scope = 2;
      event.deref = 0;
      event.filter = "(&(objectClass=inetOrgPerson)(uid=*))";
      event.attr = "uid mail";
      event.number_of_results = c.r.int(0, 500);
    }
    return event;
  },
  systems: (c) => {
    const username = c.r.pick(USERS);
    const source = ip(c);
    return Object.assign(
      base(c, "systems", c.r.pick(["login_attempt", "user_password_change", "user_lockout"])),
      {
        system: { id: c.r.hex(24), hostname: `host-${c.r.int(1, 40)}`, displayName: "Workstation" },
        system_timestamp: new Date(c.at).toISOString().replace("Z", "+00:00"),
        message: `User ${username} logged in from ${source}, process name: sshd`,
        client_ip: ip(c),
        src_ip: source,
        username,
        process_name: c.r.pick(["sshd", "loginwindow", "winlogon"]),
        success: c.r.chance(0.9),
        initiated_by: { type: "systemuser", username },
      },
    );
  },
  mdm: (c) =>
    Object.assign(base(c, "mdm", "mdm_command_result"), {
      mdm_type: "apple",
      request_type: "DeviceInformation",
      mdm_device_id: c.r.hex(24),
      command: { request_type: "DeviceInformation", queries: ["DeviceName", "OSVersion"] },
      command_uuid: `${c.r.hex(8)}-${c.r.hex(4)}-${c.r.hex(4)}-${c.r.hex(4)}-${c.r.hex(12)}`,
      status: "Acknowledged",
      error_chain: null,
      query_responses: {
        device_name: `mac-${c.r.int(1, 99)}`,
        os_version: "14.1",
        model_name: "MacBook Pro",
        is_supervised: true,
      },
    }),
  password_manager: (c) => {
    const u = user(c);
    const kind = c.r.pick(["passwordmanager_folder_create", "passwordmanager_user_enable"]);
    return Object.assign(base(c, "password_manager", kind), {
      id: `${c.r.hex(8)}-${c.r.hex(4)}-${c.r.hex(4)}-${c.r.hex(4)}-${c.r.hex(12)}`,
      client_ip: ip(c),
      initiated_by: { id: u.id, type: "admin", email: u.email, source: "system" },
      changes: [{ field: "folder name", from: "", to: "Shared" }],
      success: true,
    });
  },
  software: (c) =>
    Object.assign(base(c, "software", c.r.pick(["software_add", "software_change", "software_remove"])), {
      provider: c.r.hex(24),
      system: { id: c.r.hex(24), type: "system" },
      application: {
        name: "Google Chrome",
        version: "120.1",
        publisher: "Google",
        package_manager: "APPLE_VPP",
      },
      changes: [{ field: "version", from: "119.0", to: "120.1" }],
      app_management_source: "JumpCloud App Catalog",
    }),
};

/**
 * Events the simulator can hold without keeping their bodies: an array of generated events, or a
 * generated tenant that makes each body again when asked (always the same one).
 */
export interface EventSequence {
  readonly length: number;
  /** Epoch ms of event `i`. */
  at(i: number): number;
  service(i: number): string;
  event(i: number): Record<string, unknown>;
}

// Each event draws from a stream of its own, apart from the tenant's (address pool, times).
const eventStream = (seed: number, seq: number) => Random.stream((seed ^ 0x5eede7e7) >>> 0, seq);

const weightOf = (services: readonly Service[]) => services.reduce((sum, s) => sum + WEIGHTS[s], 0);

function pickService(r: Random, services: readonly Service[], totalWeight: number): Service {
  let pick = r.next() * totalWeight;
  for (const s of services) {
    pick -= WEIGHTS[s];
    if (pick < 0) return s;
  }
  return services[0] as Service;
}

/**
 * A generated tenant held compactly (13 bytes an event: time, service, sequence number): each
 * event draws from its own random stream, so its body is made on demand, identical every time.
 */
export class GeneratedTenant implements EventSequence, Iterable<GeneratedEvent> {
  private readonly totalWeight: number;

  constructor(
    private readonly times: Float64Array,
    private readonly serviceIndexes: Uint8Array,
    private readonly sequence: Uint32Array,
    private readonly context: {
      seed: number;
      services: readonly Service[];
      organization: string;
      ips: readonly string[];
    },
  ) {
    this.totalWeight = weightOf(context.services);
  }

  get length(): number {
    return this.times.length;
  }

  at(i: number): number {
    return this.times[i] as number;
  }

  service(i: number): Service {
    return SERVICES[this.serviceIndexes[i] as number] as Service;
  }

  event(i: number): Record<string, unknown> {
    const seq = this.sequence[i] as number;
    const r = eventStream(this.context.seed, seq);
    const service = pickService(r, this.context.services, this.totalWeight);
    const { ips, organization } = this.context;
    return TEMPLATES[service]({ r, ips, at: this.at(i), organization, seq });
  }

  /** Event `i` with its body. */
  get(i: number): GeneratedEvent {
    return { at: this.at(i), service: this.service(i), event: this.event(i) };
  }

  *[Symbol.iterator](): Iterator<GeneratedEvent> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** Every event with its body (for small tenants: a body takes about a kilobyte). */
  toArray(): GeneratedEvent[] {
    return Array.from(this);
  }
}

/**
 * Positions by time: RADIUS events carry whole seconds, so they move back among the others. Both
 * kinds are already in time order, so one merge sorts them (ties keep the order of drawing).
 */
function timeOrder(at: Float64Array, radius: Uint8Array): Uint32Array {
  const order = new Uint32Array(at.length);
  let a = radius.indexOf(0);
  let b = radius.indexOf(1);
  const nextOf = (from: number, kind: number) => radius.indexOf(kind, from + 1);
  for (let p = 0; p < order.length; p++) {
    const takeA =
      b === -1 || (a !== -1 && ((at[a] as number) < (at[b] as number) || (at[a] === at[b] && a < b)));
    if (takeA) {
      order[p] = a;
      a = nextOf(a, 0);
    } else {
      order[p] = b;
      b = nextOf(b, 1);
    }
  }
  return order;
}

/** A deterministic tenant, sorted by time, its bodies made on demand: a million events in about a second. */
export function generateTenant(options: TenantOptions): GeneratedTenant {
  const r = new Random(options.seed);
  const services = options.services ?? SERVICES;
  const organization = options.organization ?? r.hex(24);
  const ips = addressPool(r, 3_000);
  const drawn = new Float64Array(options.count);
  for (let i = 0; i < drawn.length; i++)
    drawn[i] = options.start + Math.floor(r.next() * (options.end - options.start));
  drawn.sort();
  const totalWeight = weightOf(services);
  const kinds = new Uint8Array(drawn.length);
  const radius = new Uint8Array(drawn.length);
  for (let seq = 0; seq < drawn.length; seq++) {
    // The first draw of the event's stream, drawn again when its body is made.
    const service = pickService(eventStream(options.seed, seq), services, totalWeight);
    kinds[seq] = SERVICES.indexOf(service);
    // RADIUS timestamps carry whole seconds: the event's instant is what its text says.
    if (service === "radius") {
      radius[seq] = 1;
      drawn[seq] = Math.floor((drawn[seq] as number) / 1000) * 1000;
    }
  }
  const order = timeOrder(drawn, radius);
  const times = new Float64Array(order.length);
  const serviceIndexes = new Uint8Array(order.length);
  for (let p = 0; p < order.length; p++) {
    const seq = order[p] as number;
    times[p] = drawn[seq] as number;
    serviceIndexes[p] = kinds[seq] as number;
  }
  return new GeneratedTenant(times, serviceIndexes, order, {
    seed: options.seed,
    services,
    organization,
    ips,
  });
}

/** Deterministic events for one tenant, sorted by time, with their bodies. */
export function generateTenantEvents(options: TenantOptions): GeneratedEvent[] {
  return generateTenant(options).toArray();
}

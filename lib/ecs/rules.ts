// The integration's lookups and copies, as data. Paths are relative to `jumpcloud.event` on the
// left and to the document root on the right. Order matters only where noted.

/** ECS versions and names the documents carry. */
export const ECS_VERSION = "8.11.0";
/** The integration package the dataset belongs to. */
export const PACKAGE = "jumpcloud";
export const DATASET = `${PACKAGE}.events`;
export const DATA_STREAM_TYPE = "logs";

/** `event_type` → `event.category` / `event.type` (the integration's two `append` pairs). */
export const EVENT_CATEGORIES: ReadonlyArray<{
  readonly eventTypes: ReadonlySet<string>;
  readonly category: string;
  readonly type: string;
}> = [
  {
    eventTypes: new Set(["ldap_bind", "user_login_attempt", "sso_auth", "admin_login_attempt"]),
    category: "authentication",
    type: "info",
  },
  {
    eventTypes: new Set([
      "user_password_warning_email",
      "user_password_reset_request",
      "user_activation_email",
      "user_unlocked",
    ]),
    category: "iam",
    type: "info",
  },
];

/** Copies made before `@version` is renamed (the rename can fail, so the split shows in error documents). */
export const COPIES_BEFORE_VERSION: ReadonlyArray<readonly [from: string, to: string]> = [
  ["id", "event.id"],
  ["message", "message"],
];

/** Copies made after the `@version` rename, in pipeline order. */
export const COPIES_AFTER_VERSION: ReadonlyArray<readonly [from: string, to: string]> = [
  ["system.id", "host.id"],
  ["system.hostname", "host.hostname"],
  ["initiated_by.id", "source.user.id"],
  ["initiated_by.email", "source.user.email"],
  ["initiated_by.username", "source.user.name"],
  ["username", "user.name"],
  ["useragent.device", "user_agent.device.name"],
  ["useragent.name", "user_agent.name"],
  ["useragent.version", "user_agent.version"],
  ["useragent.os_name", "user_agent.os.name"],
  ["useragent.os_full", "user_agent.os.full"],
  ["useragent.os_version", "user_agent.os.version"],
  ["event_type", "event.action"],
  ["service", "event.module"],
  ["process_name", "process.name"],
];

/** IP conversions: JumpCloud field → ECS field. */
export const IP_FIELDS: ReadonlyArray<readonly [from: string, to: "client" | "source"]> = [
  ["client_ip", "client"],
  ["src_ip", "source"],
];

/** Fields removed after being copied to ECS, unless `preserve_duplicate_custom_fields` is on. */
export const DUPLICATE_CUSTOM_FIELDS: readonly string[] = [
  "version",
  "timestamp",
  "client_ip",
  "src_ip",
  "id",
  "message",
  "system.id",
  "system.hostname",
  "initiated_by.id",
  "initiated_by.email",
  "initiated_by.username",
  "username",
  "useragent",
  "event_type",
  "service",
  "process_name",
];

/** Tags that switch pipeline behaviour, as in the integration. */
export const PRESERVE_ORIGINAL_EVENT_TAG = "preserve_original_event";
export const PRESERVE_DUPLICATE_CUSTOM_FIELDS_TAG = "preserve_duplicate_custom_fields";
export const DEFAULT_TAGS: readonly string[] = ["forwarded"];

import administratorAccountCreated from "./jumpcloud-administrator-account-created.json" with {
  type: "json",
};
import administratorApiKeyGenerated from "./jumpcloud-administrator-api-key-generated.json" with {
  type: "json",
};
import administratorApiKeyUsedFromNewSource from "./jumpcloud-administrator-api-key-used-from-new-source.json" with {
  type: "json",
};
import administratorLoginFromNewAsn from "./jumpcloud-administrator-login-from-new-asn.json" with {
  type: "json",
};
import commandCreatedAndRun from "./jumpcloud-command-created-and-run.json" with { type: "json" };
import conditionalAccessPolicyChanged from "./jumpcloud-conditional-access-policy-changed.json" with {
  type: "json",
};
import deviceDiskEncryptionKeyRetrieved from "./jumpcloud-device-disk-encryption-key-retrieved.json" with {
  type: "json",
};
import identitySourceIntegrationChanged from "./jumpcloud-identity-source-integration-changed.json" with {
  type: "json",
};
import ipListChanged from "./jumpcloud-ip-list-changed.json" with { type: "json" };
import ldapOrRadiusAuthenticationFailures from "./jumpcloud-ldap-or-radius-authentication-failures.json" with {
  type: "json",
};
import mfaDisabledForUserOrAdministrator from "./jumpcloud-mfa-disabled-for-user-or-administrator.json" with {
  type: "json",
};
import multipleFailedLoginsForAUser from "./jumpcloud-multiple-failed-logins-for-a-user.json" with {
  type: "json",
};
import organizationMfaSettingsChanged from "./jumpcloud-organization-mfa-settings-changed.json" with {
  type: "json",
};
import passwordManagerVaultExport from "./jumpcloud-password-manager-vault-export.json" with { type: "json" };
import passwordSprayingFromSingleAddress from "./jumpcloud-password-spraying-from-single-address.json" with {
  type: "json",
};
import policyOrGroupModifiedOrDeleted from "./jumpcloud-policy-or-group-modified-or-deleted.json" with {
  type: "json",
};
import ssoApplicationCreatedOrModified from "./jumpcloud-sso-application-created-or-modified.json" with {
  type: "json",
};
import successfulLoginAfterRepeatedFailures from "./jumpcloud-successful-login-after-repeated-failures.json" with {
  type: "json",
};
import userGrantedAdministratorPrivileges from "./jumpcloud-user-granted-administrator-privileges.json" with {
  type: "json",
};
import userLoginFromNewCountry from "./jumpcloud-user-login-from-new-country.json" with { type: "json" };
import userUnsuspendedByAdministrator from "./jumpcloud-user-unsuspended-by-administrator.json" with {
  type: "json",
};

/**
 * The detection rule pack: every `rules/*.json` file, keyed by its file name. Each value is a
 * Kibana detection rule exactly as `POST /api/detection_engine/rules/_import` takes it, less
 * `enabled` (setup decides it).
 *
 * To add a rule: write `rules/<kebab-case-name>.json` (a fresh `rule_id` UUID, `version: 1`; see
 * rules/README.md for the required keys), write its examples in `rules/tests/<same-name>.json`,
 * then import the file here and add it to this record under its file name. test/rules/rules.test.ts
 * fails while a file of the folder is missing here, or listed here without being in the folder.
 * When a rule changes, bump its `version`; never change a `rule_id`.
 */
export const RULE_FILES: Readonly<Record<string, unknown>> = {
  "jumpcloud-administrator-account-created.json": administratorAccountCreated,
  "jumpcloud-administrator-api-key-generated.json": administratorApiKeyGenerated,
  "jumpcloud-administrator-api-key-used-from-new-source.json": administratorApiKeyUsedFromNewSource,
  "jumpcloud-administrator-login-from-new-asn.json": administratorLoginFromNewAsn,
  "jumpcloud-command-created-and-run.json": commandCreatedAndRun,
  "jumpcloud-conditional-access-policy-changed.json": conditionalAccessPolicyChanged,
  "jumpcloud-device-disk-encryption-key-retrieved.json": deviceDiskEncryptionKeyRetrieved,
  "jumpcloud-identity-source-integration-changed.json": identitySourceIntegrationChanged,
  "jumpcloud-ip-list-changed.json": ipListChanged,
  "jumpcloud-ldap-or-radius-authentication-failures.json": ldapOrRadiusAuthenticationFailures,
  "jumpcloud-mfa-disabled-for-user-or-administrator.json": mfaDisabledForUserOrAdministrator,
  "jumpcloud-multiple-failed-logins-for-a-user.json": multipleFailedLoginsForAUser,
  "jumpcloud-organization-mfa-settings-changed.json": organizationMfaSettingsChanged,
  "jumpcloud-password-manager-vault-export.json": passwordManagerVaultExport,
  "jumpcloud-password-spraying-from-single-address.json": passwordSprayingFromSingleAddress,
  "jumpcloud-policy-or-group-modified-or-deleted.json": policyOrGroupModifiedOrDeleted,
  "jumpcloud-sso-application-created-or-modified.json": ssoApplicationCreatedOrModified,
  "jumpcloud-successful-login-after-repeated-failures.json": successfulLoginAfterRepeatedFailures,
  "jumpcloud-user-granted-administrator-privileges.json": userGrantedAdministratorPrivileges,
  "jumpcloud-user-login-from-new-country.json": userLoginFromNewCountry,
  "jumpcloud-user-unsuspended-by-administrator.json": userUnsuspendedByAdministrator,
};

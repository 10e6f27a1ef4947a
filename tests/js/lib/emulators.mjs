// What run.mjs started, for the tests: each emulator's admin URL, service URLs and the
// variables its managed identity source sets, and helpers to read tokens and the admin API.

import fs from "node:fs";

/** Every emulator by source (`imds`, `app-service`, …); see run.mjs. */
export function emulators() {
  const file = process.env.AZMI_JS_EMULATORS;
  if (!file) throw new Error("AZMI_JS_EMULATORS is not set: run the tests with tests/js/run.mjs");
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Every variable that selects a managed identity source in msal-node or @azure/identity. */
const SOURCE_VARIABLES = [
  "AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
  "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
  "DEFAULT_IDENTITY_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
  "AZURE_TENANT_ID", "AZURE_CLIENT_ID",
];

/**
 * Sets the process environment as a host of `source` would (its emulator's variables, no
 * other source's) and returns that emulator. Call it before creating a credential: the source
 * is read from the environment, once per process.
 */
export function useSource(source) {
  const emulator = emulators()[source];
  for (const name of SOURCE_VARIABLES) delete process.env[name];
  Object.assign(process.env, emulator.env);
  return emulator;
}

/** A JWT's claims (the token itself is never printed). */
export function claims(token) {
  const payload = token.split(".")[1];
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
}

/** GET an admin endpoint of an emulator (`/admin/counters`, `/admin/requests`, …). */
export async function adminGet(emulator, endpoint) {
  const response = await fetch(`${emulator.admin}${endpoint}`);
  if (!response.ok) throw new Error(`${endpoint}: ${response.status}`);
  return response.json();
}

/** The token requests the emulator has answered so far (`/admin/counters`). */
export async function tokensIssued(emulator) {
  return (await adminGet(emulator, "/admin/counters")).tokens_issued;
}

/** The last token request the emulator received. */
export async function lastTokenRequest(emulator) {
  const requests = await adminGet(emulator, "/admin/requests");
  return requests[requests.length - 1];
}

/**
 * Gets a token from `credential` for `scope`: its claims, how many tokens the emulator issued
 * meanwhile (1 when the credential asked it, 0 from a cache) and the last request it received.
 */
export async function tokenFrom(emulator, credential, scope) {
  const before = await tokensIssued(emulator);
  const token = await credential.getToken(scope);
  if (!(token.expiresOnTimestamp > Date.now())) throw new Error("the token has expired already");
  return {
    claims: claims(token.token),
    issued: (await tokensIssued(emulator)) - before,
    sent: await lastTokenRequest(emulator),
  };
}

export const SYSTEM_CLIENT_ID = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0001";
export const SYSTEM_OBJECT_ID = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002";
export const UAMI_CLIENT_ID = "00001111-aaaa-2222-bbbb-3333cccc4444";
export const TENANT_ID = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
export const SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000";
/** The Gen2 account's name in path-style URLs (docs/emulator.md, `dataLakeAccount`). */
export const DATA_LAKE_ACCOUNT = "azmidatalake";

// @azure/identity on App Service: IDENTITY_ENDPOINT and IDENTITY_HEADER as the platform sets
// them (azmi-emulator --source app-service prints them). No option.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import {
  claims, SYSTEM_CLIENT_ID, tokenFrom, UAMI_CLIENT_ID, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("app-service");

test("system-assigned", async () => {
  const { claims: c, issued, sent } = await tokenFrom(
    emulator,
    new ManagedIdentityCredential(),
    "https://vault.azure.net/.default",
  );
  assert.equal(c.aud, "https://vault.azure.net");
  assert.equal(c.appid, SYSTEM_CLIENT_ID);
  assert.equal(issued, 1);
  assert.equal(sent.path, "/msi/token");
  assert.equal(sent.headers["x-identity-header"], "<redacted>");
  assert.match(sent.query, /api-version=2019-08-01/);
});

test("user-assigned by client id", async () => {
  const token = await new ManagedIdentityCredential({ clientId: UAMI_CLIENT_ID }).getToken(
    "https://management.azure.com/.default",
  );
  assert.equal(claims(token.token).appid, UAMI_CLIENT_ID);
});

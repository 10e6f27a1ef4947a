// @azure/identity on App Service: IDENTITY_ENDPOINT and IDENTITY_HEADER as the platform sets
// them (azmi-emulator --source app-service prints them). No option.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import {
  claims, lastTokenRequest, SYSTEM_CLIENT_ID, tokensIssued, UAMI_CLIENT_ID, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("app-service");

test("system-assigned", async () => {
  const before = await tokensIssued(emulator);
  const token = await new ManagedIdentityCredential().getToken("https://vault.azure.net/.default");
  const c = claims(token.token);
  assert.equal(c.aud, "https://vault.azure.net");
  assert.equal(c.appid, SYSTEM_CLIENT_ID);
  assert.equal(await tokensIssued(emulator), before + 1);
  const sent = await lastTokenRequest(emulator);
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

// @azure/identity on an Azure Machine Learning compute: MSI_ENDPOINT, MSI_SECRET and
// DEFAULT_IDENTITY_CLIENT_ID (azmi-emulator --source azure-ml prints them). No option.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import {
  claims, lastTokenRequest, SYSTEM_CLIENT_ID, tokensIssued, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("azure-ml");

test("the compute's identity", async () => {
  const before = await tokensIssued(emulator);
  const token = await new ManagedIdentityCredential().getToken("https://vault.azure.net/.default");
  const c = claims(token.token);
  assert.equal(c.aud, "https://vault.azure.net");
  assert.equal(c.appid, SYSTEM_CLIENT_ID);
  assert.equal(await tokensIssued(emulator), before + 1);
  const sent = await lastTokenRequest(emulator);
  assert.equal(sent.path, "/msi/token");
  assert.equal(sent.headers.secret, "<redacted>");
  assert.match(sent.query, /api-version=2017-09-01/);
});

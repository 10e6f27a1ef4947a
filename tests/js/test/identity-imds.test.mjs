// @azure/identity on a VM (IMDS), as msal-node finds it: AZURE_POD_IDENTITY_AUTHORITY_HOST,
// the variable azmi-emulator prints. No option beyond what a VM's code would pass.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import {
  claims, lastTokenRequest, SYSTEM_CLIENT_ID, tokenFrom, UAMI_CLIENT_ID, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("imds");

test("system-assigned: msal-node asks for the token path with a trailing slash", async () => {
  const { claims: c, issued, sent } = await tokenFrom(
    emulator,
    new ManagedIdentityCredential(),
    "https://management.azure.com/.default",
  );
  assert.equal(c.aud, "https://management.azure.com");
  assert.equal(c.appid, SYSTEM_CLIENT_ID);
  assert.equal(issued, 1);
  assert.equal(sent.path, "/metadata/identity/oauth2/token/");
  assert.equal(sent.headers.metadata, "true");
});

test("user-assigned by client id", async () => {
  const token = await new ManagedIdentityCredential({ clientId: UAMI_CLIENT_ID }).getToken(
    "https://storage.azure.com/.default",
  );
  const c = claims(token.token);
  assert.equal(c.aud, "https://storage.azure.com");
  assert.equal(c.appid, UAMI_CLIENT_ID);
  const sent = await lastTokenRequest(emulator);
  assert.match(sent.query, new RegExp(`client_id=${UAMI_CLIENT_ID}`));
});

test("DefaultAzureCredential reaches IMDS", async () => {
  const token = await new DefaultAzureCredential().getToken("https://vault.azure.net/.default");
  assert.equal(claims(token.token).aud, "https://vault.azure.net");
});

test("an unknown resource is refused with Entra ID's error", async () => {
  await assert.rejects(
    new ManagedIdentityCredential().getToken("https://nope.example/.default"),
    (error) => {
      assert.equal(error.name, "CredentialUnavailableError");
      assert.match(error.message, /AADSTS50001|invalid_resource/);
      return true;
    },
  );
});

// @azure/identity on AKS with workload identity: AZURE_AUTHORITY_HOST (https, the emulator's
// CA trusted by run.mjs), AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE
// (azmi-emulator --source workload-identity prints them).
//
// One option real Azure does not need: disableInstanceDiscovery. MSAL (msal-node) validates an
// authority host it does not know by asking https://login.microsoftonline.com/common/discovery/
// instance, which is not reachable from here (nor is 127.0.0.1 an Entra ID host it would
// vouch for). Against login.microsoftonline.com itself MSAL knows the host and asks nothing.
// ManagedIdentityCredential's token exchange does not use MSAL's authority, so needs nothing.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DefaultAzureCredential, ManagedIdentityCredential, WorkloadIdentityCredential,
} from "@azure/identity";
import {
  claims, TENANT_ID, tokenFrom, UAMI_CLIENT_ID, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("workload-identity");
const offline = { disableInstanceDiscovery: true };

test("WorkloadIdentityCredential: aud exactly as the scope named it", async () => {
  const { claims: c, issued, sent } = await tokenFrom(
    emulator,
    new WorkloadIdentityCredential(offline),
    "https://storage.azure.com/.default",
  );
  assert.equal(c.aud, "https://storage.azure.com");
  assert.equal(c.appid, UAMI_CLIENT_ID);
  assert.equal(issued, 1);
  assert.equal(sent.method, "POST");
  assert.equal(sent.path, `/${TENANT_ID}/oauth2/v2.0/token`);
});

test("ManagedIdentityCredential exchanges the federated token too", async () => {
  const token = await new ManagedIdentityCredential({ clientId: UAMI_CLIENT_ID }).getToken(
    "https://vault.azure.net/.default",
  );
  assert.equal(claims(token.token).aud, "https://vault.azure.net");
});

test("DefaultAzureCredential picks workload identity", async () => {
  const token = await new DefaultAzureCredential(offline).getToken(
    "https://management.azure.com/.default",
  );
  const c = claims(token.token);
  assert.equal(c.aud, "https://management.azure.com");
  assert.equal(c.appid, UAMI_CLIENT_ID);
});

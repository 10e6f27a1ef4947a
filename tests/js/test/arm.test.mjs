// @azure/arm-resources and @azure/arm-storage against the emulator's Resource Manager, with
// the VM's managed identity (IMDS), every call at the SDK's default api-version.
//
// One option real Azure does not need: `endpoint`, the emulator's Resource Manager URL instead
// of https://management.azure.com. The token scope stays the SDKs' default
// (https://management.azure.com/.default).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { ResourceManagementClient } from "@azure/arm-resources";
import { StorageManagementClient } from "@azure/arm-storage";
import { ManagedIdentityCredential } from "@azure/identity";
import { SUBSCRIPTION_ID, useSource } from "../lib/emulators.mjs";

const emulator = useSource("imds");
const credential = new ManagedIdentityCredential();
const resources = new ResourceManagementClient(credential, SUBSCRIPTION_ID, {
  endpoint: emulator.arm,
});
const storage = new StorageManagementClient(credential, SUBSCRIPTION_ID, {
  endpoint: emulator.arm,
});
/** Azurite's well-known key, the default devstoreaccount1's (docs/emulator.md). */
const ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

function sign(stringToSign) {
  return crypto
    .createHmac("sha256", Buffer.from(ACCOUNT_KEY, "base64"))
    .update(stringToSign, "utf8")
    .digest("base64");
}

test("resource groups: get, and list over every page", async () => {
  const group = await resources.resourceGroups.get("azmi-rg");
  assert.equal(group.name, "azmi-rg");
  assert.equal(group.location, "eastus");
  assert.equal(group.tags.owner, "azmi");
  assert.equal(group.properties.provisioningState, "Succeeded");
  assert.equal(group.id, `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/azmi-rg`);

  const names = [];
  for await (const g of resources.resourceGroups.list()) names.push(g.name);
  assert.deepEqual(names.sort(), ["azmi-rg", "DevTest", "js-peer"].sort());

  await assert.rejects(resources.resourceGroups.get("no-such-group"), (error) => {
    assert.equal(error.statusCode, 404);
    assert.equal(error.code, "ResourceGroupNotFound");
    return true;
  });
});

test("resource groups: checkExistence (HEAD, 204 or 404)", async () => {
  assert.deepEqual(await resources.resourceGroups.checkExistence("azmi-rg"), { body: true });
  assert.deepEqual(await resources.resourceGroups.checkExistence("AZMI-RG"), { body: true });
  assert.deepEqual(await resources.resourceGroups.checkExistence("no-such-group"), {
    body: false,
  });
});

test("storage accounts: get and list", async () => {
  const account = await storage.storageAccounts.getProperties("azmi-rg", "devstoreaccount1");
  assert.equal(account.name, "devstoreaccount1");
  assert.equal(account.kind, "StorageV2");
  const names = [];
  for await (const a of storage.storageAccounts.list()) names.push(a.name);
  assert.deepEqual(names, ["devstoreaccount1"]);
});

test("listServiceSAS signs the documented string at the SDK's default api-version", async () => {
  const result = await storage.storageAccounts.listServiceSAS("azmi-rg", "devstoreaccount1", {
    canonicalizedResource: "/blob/devstoreaccount1/uploads",
    resource: "c",
    permissions: "rwc",
    protocols: "https",
    sharedAccessExpiryTime: new Date("2030-01-01T00:00:00Z"),
  });
  const sas = new URLSearchParams(result.serviceSasToken);
  assert.equal(sas.get("sv"), "2015-04-05");
  assert.equal(sas.get("sr"), "c");
  assert.equal(sas.get("sp"), "rcw");
  assert.equal(sas.get("se"), "2030-01-01T00:00:00.0000000Z");
  const expected = sign(
    ["rcw", "", "2030-01-01T00:00:00.0000000Z", "/blob/devstoreaccount1/uploads", "", "",
      "https", "2015-04-05", "", "", "", "", ""].join("\n"),
  );
  assert.equal(sas.get("sig"), expected);
  const sent = await lastArmApiVersion();
  assert.equal(sent, "2026-06-01");
});

test("listAccountSAS signs the documented string", async () => {
  const result = await storage.storageAccounts.listAccountSAS("azmi-rg", "devstoreaccount1", {
    services: "b",
    resourceTypes: "sco",
    permissions: "rl",
    sharedAccessExpiryTime: new Date("2030-01-01T00:00:00Z"),
  });
  const sas = new URLSearchParams(result.accountSasToken);
  assert.equal(sas.get("ss"), "b");
  assert.equal(sas.get("srt"), "sco");
  const expected = sign(
    ["devstoreaccount1", "rl", "b", "sco", "", "2030-01-01T00:00:00.0000000Z", "", "",
      "2015-04-05", ""].join("\n"),
  );
  assert.equal(sas.get("sig"), expected);
});

/** The api-version of the last request the services received (`/admin/service-requests`). */
async function lastArmApiVersion() {
  const response = await fetch(`${emulator.admin}/admin/service-requests`);
  const requests = await response.json();
  const last = requests[requests.length - 1];
  return new URLSearchParams(last.query).get("api-version");
}

// @azure/keyvault-secrets' SecretClient against the emulator's vault, with the VM's managed
// identity (IMDS) from @azure/identity.
//
// One option real Azure does not need: disableChallengeResourceVerification. The client checks
// that the resource its 401 challenge names (https://vault.azure.net) is a parent domain of
// the vault's host; the emulator's vault is https://127.0.0.1:<port>, so it is not. A vault at
// <name>.vault.azure.net passes that check without the option.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { useSource } from "../lib/emulators.mjs";

const emulator = useSource("imds");
const client = new SecretClient(emulator.keyvault, new ManagedIdentityCredential(), {
  disableChallengeResourceVerification: true,
});

test("getSecret: the current version, and an older one by version", async () => {
  const secret = await client.getSecret("mi-test");
  assert.equal(secret.value, "Hello from Key Vault");
  assert.equal(secret.properties.contentType, "text/plain");
  assert.equal(secret.properties.tags.purpose, "azmi-tests");
  assert.equal(secret.properties.enabled, true);
  assert.ok(secret.properties.createdOn instanceof Date);
  assert.equal(secret.properties.vaultUrl, emulator.keyvault);
  assert.match(secret.properties.version, /^[0-9a-f]{32}$/);

  const versions = [];
  for await (const properties of client.listPropertiesOfSecretVersions("mi-test")) {
    versions.push(properties.version);
  }
  assert.equal(versions.length, 2);
  assert.ok(versions.includes(secret.properties.version));
  const older = versions.find((v) => v !== secret.properties.version);
  const old = await client.getSecret("mi-test", { version: older });
  assert.equal(old.value, "Hello from Key Vault (version 1)");
});

test("listPropertiesOfSecrets follows nextLink over every page", async () => {
  const names = [];
  for await (const properties of client.listPropertiesOfSecrets()) {
    names.push(properties.name);
    assert.equal(properties.value, undefined);
  }
  // 32 secrets, two pages of at most 25.
  assert.equal(names.length, 32);
  assert.ok(names.includes("mi-test") && names.includes("mi-disabled"));
  assert.ok(names.includes("paging-secret-30"));
  let pages = 0;
  for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 10 })) {
    assert.ok(page.length <= 10);
    pages += 1;
  }
  assert.equal(pages, 4);
});

test("errors: a missing secret is 404 SecretNotFound, a disabled one 403", async () => {
  await assert.rejects(client.getSecret("no-such-secret"), (error) => {
    assert.equal(error.statusCode, 404);
    assert.equal(error.code, "SecretNotFound");
    return true;
  });
  await assert.rejects(client.getSecret("mi-disabled"), (error) => {
    assert.equal(error.statusCode, 403);
    assert.equal(error.code, "Forbidden");
    return true;
  });
});

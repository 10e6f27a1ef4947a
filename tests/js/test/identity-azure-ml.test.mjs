// @azure/identity on an Azure Machine Learning compute: MSI_ENDPOINT, MSI_SECRET and
// DEFAULT_IDENTITY_CLIENT_ID (azmi-emulator --source azure-ml prints them). No option.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import {
  claims, SYSTEM_CLIENT_ID, tokenFrom, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("azure-ml");

test("the compute's identity", async () => {
  const { claims: c, issued, sent } = await tokenFrom(
    emulator,
    new ManagedIdentityCredential(),
    "https://vault.azure.net/.default",
  );
  assert.equal(c.aud, "https://vault.azure.net");
  assert.equal(c.appid, SYSTEM_CLIENT_ID);
  assert.equal(issued, 1);
  assert.equal(sent.path, "/msi/token");
  assert.equal(sent.headers.secret, "<redacted>");
  assert.match(sent.query, /api-version=2017-09-01/);
});

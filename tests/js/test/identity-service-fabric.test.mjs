// @azure/identity on Service Fabric: IDENTITY_ENDPOINT (https), IDENTITY_HEADER and
// IDENTITY_SERVER_THUMBPRINT (azmi-emulator --source service-fabric prints them). No option in
// the code; run.mjs trusts the endpoint's certificate after checking it against the thumbprint,
// because msal-node does not pin it (see run.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import {
  claims, SYSTEM_CLIENT_ID, tokenFrom, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("service-fabric");

test("the cluster's identity, over its pinned TLS endpoint", async () => {
  const { claims: c, issued, sent } = await tokenFrom(
    emulator,
    new ManagedIdentityCredential(),
    "https://vault.azure.net/.default",
  );
  assert.equal(c.aud, "https://vault.azure.net");
  assert.equal(c.appid, SYSTEM_CLIENT_ID);
  assert.equal(issued, 1);
  assert.equal(sent.path, "/metadata/identity/oauth2/token");
  assert.equal(sent.headers.secret, "<redacted>");
});

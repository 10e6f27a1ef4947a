// @azure/identity on an Arc-enabled server: IDENTITY_ENDPOINT and IMDS_ENDPOINT (azmi-emulator
// --source arc prints them), the key file in the agent's own folder /var/opt/azcmagent/tokens
// (run.mjs starts the emulator with --arc-tokens-dir there; msal-node reads no other). No option.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import {
  claims, SYSTEM_CLIENT_ID, tokenFrom, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("arc");

test("the machine's identity, after the key-file challenge", async () => {
  const { claims: c, issued, sent } = await tokenFrom(
    emulator,
    new ManagedIdentityCredential(),
    "https://management.azure.com/.default",
  );
  assert.equal(c.aud, "https://management.azure.com");
  assert.equal(c.appid, SYSTEM_CLIENT_ID);
  assert.equal(issued, 1);
  assert.equal(sent.headers.authorization, "<redacted>");
});

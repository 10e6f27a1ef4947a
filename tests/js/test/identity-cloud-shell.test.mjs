// @azure/identity in Cloud Shell: MSI_ENDPOINT alone (azmi-emulator --source cloud-shell
// prints it). No option.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import {
  claims, SYSTEM_CLIENT_ID, tokenFrom, UAMI_CLIENT_ID, useSource,
} from "../lib/emulators.mjs";

const emulator = useSource("cloud-shell");

test("the signed-in identity, by a POSTed form", async () => {
  const { claims: c, issued, sent } = await tokenFrom(
    emulator,
    new ManagedIdentityCredential(),
    "https://management.core.windows.net//.default",
  );
  assert.equal(c.aud, "https://management.core.windows.net/");
  assert.equal(c.appid, SYSTEM_CLIENT_ID);
  assert.equal(issued, 1);
  assert.equal(sent.method, "POST");
  assert.equal(sent.path, "/oauth2/token");
});

test("a user-assigned identity is refused before anything is sent", () => {
  assert.throws(() => new ManagedIdentityCredential({ clientId: UAMI_CLIENT_ID }), /CloudShell/);
});

// The `webhdfs` npm client against the emulator's Data Lake Gen1 (WebHDFS) endpoint, with a
// token for https://datalake.azure.net/ from @azure/identity (IMDS). The client takes the
// host, port and path of the endpoint and request options: the bearer token goes in as a
// header (the client has no Azure sign-in of its own, as with the real Gen1 service).
import assert from "node:assert/strict";
import { test } from "node:test";
import { promisify } from "node:util";
import { ManagedIdentityCredential } from "@azure/identity";
import WebHDFS from "webhdfs";
import { claims, useSource } from "../lib/emulators.mjs";

const emulator = useSource("imds");

async function client() {
  // The scope of a resource whose name ends in "/" keeps the slash: Gen1 checks the audience
  // https://datalake.azure.net/ exactly.
  const token = await new ManagedIdentityCredential().getToken(
    "https://datalake.azure.net//.default",
  );
  assert.equal(claims(token.token).aud, "https://datalake.azure.net/");
  const url = new URL(emulator.services);
  const hdfs = WebHDFS.createClient(
    { host: url.hostname, port: url.port, protocol: "https", path: "/webhdfs/v1" },
    { headers: { Authorization: `Bearer ${token.token}` } },
  );
  return {
    mkdir: promisify(hdfs.mkdir.bind(hdfs)),
    writeFile: promisify(hdfs.writeFile.bind(hdfs)),
    appendFile: promisify(hdfs.appendFile.bind(hdfs)),
    readFile: promisify(hdfs.readFile.bind(hdfs)),
    readdir: promisify(hdfs.readdir.bind(hdfs)),
    stat: promisify(hdfs.stat.bind(hdfs)),
    exists: (path) => new Promise((resolve) => hdfs.exists(path, resolve)),
    rename: promisify(hdfs.rename.bind(hdfs)),
    unlink: promisify(hdfs.unlink.bind(hdfs)),
  };
}

test("WebHDFS: mkdir, write through the redirect, append, read, list, rename, delete", async () => {
  const hdfs = await client();
  await hdfs.mkdir("/js-peer/dir");
  await hdfs.writeFile("/js-peer/dir/file.txt", "hello ");
  await hdfs.appendFile("/js-peer/dir/file.txt", "webhdfs");
  assert.equal((await hdfs.readFile("/js-peer/dir/file.txt")).toString(), "hello webhdfs");
  const status = await hdfs.stat("/js-peer/dir/file.txt");
  assert.equal(status.type, "FILE");
  assert.equal(status.length, 13);
  const listing = await hdfs.readdir("/js-peer/dir");
  assert.deepEqual(listing.map((s) => s.pathSuffix), ["file.txt"]);
  assert.equal(await hdfs.exists("/js-peer/dir/file.txt"), true);
  await hdfs.rename("/js-peer/dir/file.txt", "/js-peer/renamed.txt");
  assert.equal(await hdfs.exists("/js-peer/dir/file.txt"), false);
  assert.equal((await hdfs.readFile("/js-peer/renamed.txt")).toString(), "hello webhdfs");
  await hdfs.unlink("/js-peer", true);
  assert.equal(await hdfs.exists("/js-peer"), false);
  await assert.rejects(hdfs.stat("/js-peer"), /FileNotFoundException|does not exist/);
});

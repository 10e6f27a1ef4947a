// @azure/storage-file-datalake and @azure/storage-blob against the emulator's Gen2 account,
// with the VM's managed identity (IMDS). The account is at https://127.0.0.1:<port>; the SDKs
// treat an IP host as path-style (the first path segment names the account), so the natural
// URL is https://127.0.0.1:<port>/azmidatalake (path-style). The host form, the URL without the
// account, serves the same data. No option beyond the URL: the SDKs' Data Lake calls go to DFS
// and their file system, read and properties calls to the Blob API, both on that URL.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";
import { DataLakeServiceClient } from "@azure/storage-file-datalake";
import { DATA_LAKE_ACCOUNT, useSource } from "../lib/emulators.mjs";

const emulator = useSource("imds");
const credential = new ManagedIdentityCredential();
const pathStyle = `${emulator.services}/${DATA_LAKE_ACCOUNT}`;
const dataLake = new DataLakeServiceClient(pathStyle, credential);
const blobs = new BlobServiceClient(pathStyle, credential);

async function text(readable) {
  const chunks = [];
  for await (const chunk of readable) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function fileSystemNames(service) {
  const names = [];
  for await (const fs of service.listFileSystems()) names.push(fs.name);
  return names;
}

test("file systems, path-style: create, exists, list, properties, delete", async () => {
  assert.equal(dataLake.accountName, DATA_LAKE_ACCOUNT);
  const fileSystem = dataLake.getFileSystemClient("js-path-style");
  assert.equal(await fileSystem.exists(), false);
  await fileSystem.create();
  assert.equal(await fileSystem.exists(), true);
  assert.equal(await fileSystem.createIfNotExists().then((r) => r.succeeded), false);
  const names = await fileSystemNames(dataLake);
  assert.ok(names.includes("fs") && names.includes("js-path-style"), names.join());
  const properties = await fileSystem.getProperties();
  assert.ok(properties.etag);
  assert.equal(properties.leaseState, "available");
  await fileSystem.delete();
  assert.equal(await fileSystem.exists(), false);
  await assert.rejects(fileSystem.delete(), (error) => {
    assert.equal(error.statusCode, 404);
    assert.equal(error.code, "ContainerNotFound");
    return true;
  });
});

test("file systems, host form: create, exists, list, delete", async () => {
  const hostForm = new DataLakeServiceClient(emulator.services, credential);
  const fileSystem = hostForm.getFileSystemClient("js-host-form");
  await fileSystem.create();
  assert.equal(await fileSystem.exists(), true);
  assert.ok((await fileSystemNames(hostForm)).includes("js-host-form"));
  // The same account, path-style.
  assert.ok((await fileSystemNames(dataLake)).includes("js-host-form"));
  await fileSystem.delete();
  assert.equal(await fileSystem.exists(), false);
});

test("files: upload, read, properties, list, move, delete", async () => {
  const fileSystem = dataLake.getFileSystemClient("js-files");
  await fileSystem.create();
  try {
    await fileSystem.getDirectoryClient("dir").create();
    const file = fileSystem.getFileClient("dir/hello.txt");
    await file.upload(Buffer.from("hello from JavaScript"));
    assert.equal(await file.exists(), true);
    const read = await file.read();
    assert.equal(await text(read.readableStreamBody), "hello from JavaScript");
    const range = await file.read(6, 4);
    assert.equal(await text(range.readableStreamBody), "from");
    const properties = await file.getProperties();
    assert.equal(properties.contentLength, 21);
    assert.equal(await file.readToBuffer().then((b) => b.toString()), "hello from JavaScript");

    const paths = [];
    for await (const p of fileSystem.listPaths({ recursive: true })) {
      paths.push(`${p.name}${p.isDirectory ? "/" : ""}`);
    }
    assert.deepEqual(paths, ["dir/", "dir/hello.txt"]);

    // move() sends the source path-style and the destination in the host form.
    await file.move("dir/renamed.txt");
    assert.equal(await file.exists(), false);
    const renamed = fileSystem.getFileClient("dir/renamed.txt");
    assert.equal((await renamed.readToBuffer()).toString(), "hello from JavaScript");
    await renamed.delete();
    assert.equal(await renamed.exists(), false);
    await assert.rejects(renamed.read(), (error) => error.statusCode === 404);
  } finally {
    await fileSystem.deleteIfExists();
  }
});

test("the Blob SDK sees the same files, and the Data Lake SDK sees its blobs", async () => {
  const fileSystem = dataLake.getFileSystemClient("js-both");
  await fileSystem.create();
  try {
    const names = [];
    for await (const c of blobs.listContainers()) names.push(c.name);
    assert.ok(names.includes("js-both"), names.join());

    await fileSystem.getFileClient("from-datalake.txt").upload(Buffer.from("written by DFS"));
    const container = blobs.getContainerClient("js-both");
    assert.equal(await container.exists(), true);
    const download = await container.getBlobClient("from-datalake.txt").download();
    assert.equal(download.blobType, "BlockBlob");
    assert.equal(await text(download.readableStreamBody), "written by DFS");

    const blob = container.getBlockBlobClient("nested/from-blob.txt");
    await blob.upload("written by Blob", 15, { blobHTTPHeaders: { blobContentType: "text/plain" } });
    const file = fileSystem.getFileClient("nested/from-blob.txt");
    assert.equal((await file.readToBuffer()).toString(), "written by Blob");
    assert.equal((await file.getProperties()).contentType, "text/plain");
    assert.equal(await fileSystem.getDirectoryClient("nested").exists(), true);

    const listed = [];
    for await (const item of container.listBlobsFlat()) listed.push(item.name);
    assert.deepEqual(listed, ["from-datalake.txt", "nested", "nested/from-blob.txt"]);
    const top = [];
    for await (const item of container.listBlobsByHierarchy("/")) {
      top.push(item.kind === "prefix" ? `${item.name} (prefix)` : item.name);
    }
    // The SDK yields a page's prefixes before its blobs.
    assert.deepEqual(top, ["nested/ (prefix)", "from-datalake.txt", "nested"]);

    await blob.delete();
    assert.equal(await file.exists(), false);
    await assert.rejects(blob.download(), (error) => {
      assert.equal(error.statusCode, 404);
      assert.equal(error.code, "BlobNotFound");
      return true;
    });
  } finally {
    await fileSystem.deleteIfExists();
  }
});

test("a container created by the Blob SDK is a file system", async () => {
  const container = blobs.getContainerClient("js-from-blob");
  await container.create();
  try {
    assert.equal(await dataLake.getFileSystemClient("js-from-blob").exists(), true);
    await assert.rejects(container.create(), (error) => {
      assert.equal(error.statusCode, 409);
      assert.equal(error.code, "ContainerAlreadyExists");
      return true;
    });
  } finally {
    await container.deleteIfExists();
  }
  assert.equal(await dataLake.getFileSystemClient("js-from-blob").exists(), false);
});

test("uploads in blocks (uploadData, uploadStream) are files too", async () => {
  const fileSystem = dataLake.getFileSystemClient("js-blocks");
  await fileSystem.create();
  try {
    const container = blobs.getContainerClient("js-blocks");
    const data = Buffer.alloc(3 * 1024 * 1024 + 5);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    // Above maxSingleShotSize the SDK puts blocks in parallel, then the block list.
    const big = container.getBlockBlobClient("big.bin");
    await big.uploadData(data, {
      blockSize: 1024 * 1024,
      maxSingleShotSize: 1024 * 1024,
      concurrency: 2,
    });
    assert.ok((await fileSystem.getFileClient("big.bin").readToBuffer()).equals(data));
    // A stream always goes in blocks.
    const streamed = container.getBlockBlobClient("dir/streamed.bin");
    const parts = [data.subarray(0, 1000), data.subarray(1000, 5000)];
    await streamed.uploadStream(Readable.from(parts), 1024, 2);
    assert.ok((await streamed.downloadToBuffer()).equals(data.subarray(0, 5000)));
    assert.equal(await fileSystem.getDirectoryClient("dir").exists(), true);
  } finally {
    await fileSystem.deleteIfExists();
  }
});

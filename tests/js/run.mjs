// Runs the JavaScript SDK peer tests (test/*.test.mjs) with node's test runner against
// azmi-emulator. Usage: node tests/js/run.mjs [test files…]   (scripts/test-js.sh runs it)
//
// It starts one emulator per managed identity source (IMDS, whose emulator also serves the
// services, App Service, Azure ML, Cloud Shell, Arc, Service Fabric, workload identity), all
// on loopback with any free port, and hands the tests what each printed (lib/emulators.mjs).
// Each test file runs in its own process, as node's test runner does: msal-node detects the
// managed identity source once per process.
//
// TLS: every emulator makes its own CA at start. Node reads extra trusted certificates only at
// start (NODE_EXTRA_CA_CERTS), so the test processes start once all emulators are up, trusting
// one bundle of their CAs. Service Fabric's token endpoint has a self-signed certificate that
// clients are to pin by IDENTITY_SERVER_THUMBPRINT; msal-node does not pin it (it trusts what
// Node trusts), so the bundle also holds that certificate, fetched here and checked against the
// thumbprint first, as a Service Fabric application in JavaScript has to do.
//
// Environment: AZMI_EMULATOR (full path of azmi-emulator; default target/release/azmi-emulator).

import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import tls from "node:tls";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const emulatorPath = process.env.AZMI_EMULATOR ?? path.join(root, "target/release/azmi-emulator");
const ARC_TOKENS = "/var/opt/azcmagent/tokens";

/** The last line each source prints: once it is there, the banner is complete. */
const LAST_VARIABLE = {
  imds: "AZMI_ARM_ENDPOINT",
  "app-service": "IDENTITY_HEADER",
  "azure-ml": "DEFAULT_IDENTITY_CLIENT_ID",
  "cloud-shell": "MSI_ENDPOINT",
  arc: "IMDS_ENDPOINT",
  "service-fabric": "IDENTITY_SERVER_THUMBPRINT",
  "workload-identity": "AZURE_FEDERATED_TOKEN_FILE",
};

// A third resource group, so that Resource Manager's lists (2 a page) take two pages.
const CONFIG = {
  resourceGroups: [
    { name: "azmi-rg", location: "eastus", tags: { environment: "test", owner: "azmi" } },
    { name: "DevTest", location: "eastus", tags: { environment: "dev" } },
    { name: "js-peer", location: "westeurope", tags: { purpose: "paging" } },
  ],
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), "azmi-js-peer-"));
const children = [];

/** Starts one emulator and reads its banner: `{ source, admin, env, services, caFile }`. */
async function start(source, extraArgs = []) {
  const args = ["--source", source, ...extraArgs];
  const child = spawn(emulatorPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const env = {};
  const lines = [];
  let services;
  let admin;
  const reader = readline.createInterface({ input: child.stdout });
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`azmi-emulator --source ${source} printed no banner in 15 s`)),
      15000,
    );
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`azmi-emulator --source ${source} exited (${code}) before its banner`));
    });
    reader.on("line", (line) => {
      lines.push(line);
      let m;
      if ((m = /^azmi-emulator listening on (\S+)$/.exec(line))) admin = m[1];
      if ((m = /^azmi-emulator services on (\S+)$/.exec(line))) services = m[1];
      if ((m = /^export ([A-Z_]+)=(.*)$/.exec(line))) env[m[1]] = m[2];
      if (line.startsWith(`export ${LAST_VARIABLE[source]}=`)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await done;
  // The source's own variables are those after its "managed identity source" line (the
  // seven fixed lines name IMDS on purpose; docs/emulator.md).
  const sourceStart = lines.findIndex((l) => l.startsWith("azmi-emulator managed identity source "));
  const sourceEnv = {};
  if (source === "imds") {
    sourceEnv.AZURE_POD_IDENTITY_AUTHORITY_HOST = env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
  } else {
    for (const line of lines.slice(sourceStart + 1)) {
      const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (m) sourceEnv[m[1]] = m[2];
    }
  }
  return {
    source,
    admin,
    services,
    keyvault: env.AZMI_KEYVAULT_URL,
    arm: env.AZMI_ARM_ENDPOINT,
    caFile: env.AZMI_CA_FILE,
    env: sourceEnv,
  };
}

/** The Service Fabric endpoint's certificate (PEM), if its SHA-1 is the announced thumbprint. */
async function pinnedCertificate(endpoint, thumbprint) {
  const url = new URL(endpoint);
  const socket = tls.connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false });
  await once(socket, "secureConnect");
  const cert = socket.getPeerCertificate();
  socket.destroy();
  const fingerprint = cert.fingerprint.replaceAll(":", "").toUpperCase();
  if (fingerprint !== thumbprint.toUpperCase()) {
    throw new Error(`Service Fabric certificate ${fingerprint} is not the announced ${thumbprint}`);
  }
  const base64 = cert.raw.toString("base64").match(/.{1,64}/g).join("\n");
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}

/** The agent folders this run creates (removed again at the end, if empty). */
function missingFolders(folder) {
  const missing = [];
  for (let f = folder; f !== path.dirname(f) && !fs.existsSync(f); f = path.dirname(f)) {
    missing.push(f);
  }
  return missing;
}

function stopAll() {
  for (const child of children) {
    if (child.exitCode === null) child.kill("SIGTERM");
  }
}

let status = 1;
const createdArcFolders = missingFolders(ARC_TOKENS);
try {
  const configFile = path.join(work, "emulator.json");
  fs.writeFileSync(configFile, JSON.stringify(CONFIG));
  const started = await Promise.all([
    start("imds", ["--config", configFile]),
    start("app-service"),
    start("azure-ml"),
    start("cloud-shell"),
    // msal-node reads Arc key files only from the agent's own folder (root, as CI is).
    start("arc", ["--arc-tokens-dir", ARC_TOKENS]),
    start("service-fabric"),
    start("workload-identity"),
  ]);
  const bySource = Object.fromEntries(started.map((e) => [e.source, e]));
  const pems = started.map((e) => fs.readFileSync(e.caFile, "utf8"));
  const fabric = bySource["service-fabric"].env;
  pems.push(await pinnedCertificate(fabric.IDENTITY_ENDPOINT, fabric.IDENTITY_SERVER_THUMBPRINT));
  const bundle = path.join(work, "trusted.pem");
  fs.writeFileSync(bundle, pems.join(""));
  const description = path.join(work, "emulators.json");
  fs.writeFileSync(description, JSON.stringify(bySource, null, 2));

  // The tests get no Azure variable from the machine: each sets its own source's.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(AZURE_|AZMI_|IDENTITY_|IMDS_|MSI_|MSAL_)/.test(name) &&
        name !== "DEFAULT_IDENTITY_CLIENT_ID" &&
        !/^(HTTPS?_PROXY|https?_proxy)$/.test(name),
    ),
  );
  env.NODE_EXTRA_CA_CERTS = bundle;
  env.AZMI_JS_EMULATORS = description;
  env.NO_PROXY = "127.0.0.1,localhost";
  const files = process.argv.slice(2).map((f) => path.resolve(f));
  const tests = files.length
    ? files
    : fs.readdirSync(path.join(here, "test")).filter((f) => f.endsWith(".test.mjs")).sort()
        .map((f) => path.join(here, "test", f));
  const runner = spawn(process.execPath, ["--test", "--test-reporter=spec", ...tests], {
    stdio: "inherit",
    env,
    cwd: here,
  });
  const [code] = await once(runner, "exit");
  status = code ?? 1;
} catch (error) {
  console.error(`js peer tests: ${error.stack ?? error}`);
  status = 1;
} finally {
  stopAll();
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, "exit") : null)));
  fs.rmSync(work, { recursive: true, force: true });
  for (const folder of createdArcFolders) {
    try {
      fs.rmdirSync(folder);
    } catch {
      // Not empty (someone else's key file) or already gone: leave it.
    }
  }
}
process.exit(status);

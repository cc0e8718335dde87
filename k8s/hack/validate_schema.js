#!/usr/bin/env node
// Validate Kubernetes objects against the API's OpenAPI schemas, offline.
//   node validate_schema.js NODE_MODULES_DIR objects.json   (a JSON array of objects)
// Uses the npm package kubernetes-models (ajv validators generated from the
// Kubernetes OpenAPI spec) and @kubernetes-models/prometheus-operator for
// ServiceMonitor. Catches wrong types, missing required fields and bad
// enums/formats. It does not reject unknown fields: to_typescript.py + tsc
// --strict does (tests/test_deploy.sh runs both).
"use strict";
const fs = require("fs");
const path = require("path");
const { pathToFileURL } = require("url");

const modulesDir = path.resolve(process.argv[2]);

// Import by file path: the prometheus-operator package is ESM-only and its
// "exports" map hides the per-kind files from require().
async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const file = group === "monitoring.coreos.com"
    ? path.join(modulesDir, "@kubernetes-models/prometheus-operator", group, version, `${kind}.js`)
    : path.join(modulesDir, "kubernetes-models", group, version, `${kind}.js`);
  if (!fs.existsSync(file)) return null;
  const mod = await import(pathToFileURL(file).href);
  return mod[kind] || (mod.default && mod.default[kind]);
}

// Kubernetes decodes []byte fields (Secret data) with Go's base64, which
// skips line breaks; kustomize wraps long values. Normalise before checking.
function normalise(o) {
  if (o.kind === "Secret" && o.data)
    for (const k of Object.keys(o.data)) o.data[k] = String(o.data[k]).replace(/\s+/g, "");
  return o;
}

async function main() {
  const objs = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
  let bad = 0;
  for (const o of objs) {
    const id = `${o.kind}/${o.metadata && o.metadata.name}`;
    const Model = await modelFor(o.apiVersion, o.kind);
    if (!Model) {
      console.log(`${id}: no schema for ${o.apiVersion} ${o.kind}`);
      bad++;
      continue;
    }
    try {
      new Model(normalise(o)).validate();
    } catch (e) {
      console.log(`${id}: ${e.message.split("\n").slice(0, 5).join("; ")}`);
      bad++;
    }
  }
  console.log(`# ${objs.length} objects, ${bad} invalid`);
  process.exit(bad ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });

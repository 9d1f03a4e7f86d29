#!/usr/bin/env node
// Fails (exit 1) when a key `hdm.<feature>.<item>` used in a template or in the app's TypeScript
// is missing from a locale file in src/assets/i18n/, or when a locale file lacks a key that
// en-US.json has. Warns about keys in en-US.json that nothing uses. Usage: node scripts/check-i18n.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const appDir = path.join(root, 'src', 'app');
const i18nDir = path.join(root, 'src', 'assets', 'i18n');
const KEY = /['"](hdm\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)+)['"]/g;

// Comments may mention keys or extension ids; only code and markup count.
function stripComments(text, file) {
  if (file.endsWith('.html')) return text.replace(/<!--[\s\S]*?-->/g, '');
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(html|ts)$/.test(e.name) && !e.name.endsWith('.spec.ts')) out.push(p);
  }
  return out;
}

const used = new Map(); // key -> first file that uses it
for (const file of walk(appDir)) {
  const text = stripComments(fs.readFileSync(file, 'utf8'), file);
  for (const m of text.matchAll(KEY)) {
    if (!used.has(m[1])) used.set(m[1], path.relative(root, file));
  }
}

let failed = false;
const locales = fs.readdirSync(i18nDir).filter((f) => f.endsWith('.json'));
const base = JSON.parse(fs.readFileSync(path.join(i18nDir, 'en-US.json'), 'utf8'));
for (const file of locales) {
  const dict = JSON.parse(fs.readFileSync(path.join(i18nDir, file), 'utf8'));
  for (const [key, where] of used) {
    if (!(key in dict)) {
      console.error(`missing: ${key} (used in ${where}) is not in ${file}`);
      failed = true;
    }
  }
  for (const key of Object.keys(base)) {
    if (!(key in dict)) {
      console.error(`missing: ${key} (in en-US.json) is not in ${file}`);
      failed = true;
    }
  }
  for (const [key, value] of Object.entries(dict)) {
    if (typeof value !== 'string' || value.trim() === '') {
      console.error(`empty: ${key} in ${file}`);
      failed = true;
    }
  }
}
for (const key of Object.keys(base)) {
  if (!used.has(key)) console.warn(`unused: ${key} in en-US.json`);
}
console.log(`check-i18n: ${used.size} keys used, ${locales.length} locale file(s), ${failed ? 'FAILED' : 'ok'}`);
process.exit(failed ? 1 : 0);

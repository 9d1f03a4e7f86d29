#!/usr/bin/env node
// Draws the plugin's 16x16 icons into src/assets/images/sprites.png (16 wide, 32 high), the sprite
// sheet that plugin.json's iconSpriteSheet points at: hdm-main at y=0, hdm-migrate at y=16.
// Pure Node (zlib), no image library. Usage: node scripts/make-sprites.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const W = 16;
const H = 32;
const px = new Uint8Array(W * H * 4); // RGBA, transparent

function set(x, y, [r, g, b, a = 255]) {
  if (x < 0 || y < 0 || x >= W || y >= H) return;
  const i = (y * W + x) * 4;
  px.set([r, g, b, a], i);
}

const BLUE = [0, 114, 163];
const TEAL = [0, 150, 136];
const WHITE = [255, 255, 255];

// hdm-main (y 0..15): a cloud over a base line.
for (let y = 0; y < 16; y++) {
  for (let x = 0; x < 16; x++) {
    const inCloud =
      (x - 5) ** 2 + (y - 8) ** 2 <= 12 || (x - 10) ** 2 + (y - 6) ** 2 <= 14 || (y >= 8 && y <= 11 && x >= 2 && x <= 14);
    if (inCloud) set(x, y, BLUE);
  }
}
for (let x = 1; x < 15; x++) set(x, 14, TEAL);

// hdm-migrate (y 16..31): a right arrow into a cloud box.
const oy = 16;
for (let x = 1; x <= 10; x++) for (let y = 6; y <= 9; y++) set(x, oy + y, TEAL);
for (let d = 0; d <= 5; d++) for (let y = 2 + d; y <= 13 - d; y++) set(10 + d, oy + y, TEAL);
for (let x = 3; x <= 5; x++) for (let y = 7; y <= 8; y++) set(x, oy + y, WHITE);

function crc32(buf) {
  let c;
  let crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(W, 0);
ihdr.writeUInt32BE(H, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const raw = Buffer.alloc(H * (W * 4 + 1));
for (let y = 0; y < H; y++) {
  raw[y * (W * 4 + 1)] = 0; // filter: none
  Buffer.from(px.buffer, y * W * 4, W * 4).copy(raw, y * (W * 4 + 1) + 1);
}
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', zlib.deflateSync(raw)),
  chunk('IEND', Buffer.alloc(0)),
]);
const out = path.resolve(__dirname, '..', 'src', 'assets', 'images', 'sprites.png');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, png);
console.log(`wrote ${path.relative(process.cwd(), out)} (${png.length} bytes)`);

/**
 * Renders the extension's 128×128 marketplace icon (media/icon.png) from the activity-bar glyph (media/distill.svg):
 * the glyph in white on a rounded square, drawn by Debian's chromium. Run after changing the glyph:
 *   npx tsx scripts/render-icon.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = path.join(__dirname, '..');
const SIZE = 128;

async function main(): Promise<void> {
  const glyph = fs.readFileSync(path.join(ROOT, 'media', 'distill.svg'), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const inner = glyph.replace(/^[\s\S]*?<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">
    <defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#2f6fd6"/><stop offset="1" stop-color="#6a3fc9"/></linearGradient></defs>
    <rect width="${SIZE}" height="${SIZE}" rx="24" fill="url(#bg)"/>
    <g transform="translate(16 14) scale(4)" fill="none" stroke="#ffffff" color="#ffffff" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round">${inner}</g>
  </svg>`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: SIZE, height: SIZE }, deviceScaleFactor: 1 });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: path.join(ROOT, 'media', 'icon.png'), omitBackground: true });
  } finally {
    await browser.close();
  }
}

void main();

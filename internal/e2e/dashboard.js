// Loads the relay dashboard in headless Chromium, waits until the page shows
// at least MIN_ROUNDS rounds, checks the accuracy plot has drawn them, and
// writes a screenshot. Prints one JSON line with what it saw.
// Usage: node dashboard.js URL MIN_ROUNDS SCREENSHOT.png
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');

async function main() {
  const [url, minRounds, shot] = process.argv.slice(2);
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'murmur-chromium-'));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  try {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction((n) => Number(document.body.dataset.rounds || 0) >= n, Number(minRounds), { timeout: 120000 });
    await page.waitForTimeout(300);
    const seen = await page.evaluate(() => ({
      rounds: Number(document.body.dataset.rounds),
      accuracyPoints: document.querySelectorAll('#plot-acc circle.point-accuracy').length,
      lossPoints: document.querySelectorAll('#plot-acc circle.point-loss').length,
      byteBars: document.querySelectorAll('#plot-bytes rect').length,
      round: document.getElementById('round').textContent,
      accuracy: document.getElementById('acc').textContent,
      coreHash: document.getElementById('chash').textContent,
      title: document.title,
    }));
    seen.errors = errors;
    await page.screenshot({ path: shot, fullPage: true });
    console.log(JSON.stringify(seen));
  } finally {
    await ctx.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}
main().catch((e) => { console.error(e); process.exit(1); });

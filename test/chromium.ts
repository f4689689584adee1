import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, as playwright-core drives it here: no sandbox (root), and none of the
 * background traffic a closed network would refuse.
 */
export function launchChromium(): Promise<Browser> {
  if (!existsSync('/usr/bin/chromium')) {
    throw new Error('Chromium is missing: run ./scripts/test.sh, or `sudo apt-get install -y chromium`');
  }
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

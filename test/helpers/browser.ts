/** Debian's headless Chromium for the web UI's end-to-end tests, driven by playwright-core. */
import { chromium, type Browser } from 'playwright-core';
import { ensureChromium } from './debian.ts';

/**
 * Launches Chromium with the flags this machine needs: no sandbox (tests run as root), and none of the
 * background connections (updates, sync, QUIC) a closed network refuses, many at a time.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

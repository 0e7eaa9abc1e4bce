/** Debian's headless Chromium for the web UI's end-to-end tests, driven by playwright-core. */
import { chromium, type Browser } from 'playwright-core';
import { ensureChromium } from './debian.ts';

/**
 * How long a page may take to show what a test waits for: a hang guard, not a speed target (a page
 * that reads Redis and renders took over 15 s once, beside a second test suite on 2 cores).
 */
export const UI_WAIT_MS = 60_000;

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

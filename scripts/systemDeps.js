#!/usr/bin/env node
'use strict';
/**
 * Installs the Debian packages the lab and the end-to-end tests need, when they are missing.
 * Run as root (CI and the lab run as root); otherwise it only says what is missing.
 */
const { execFileSync, spawnSync } = require('node:child_process');

/** Packages by purpose; the lab's tools are the ones the tutorial uses on a node. */
const PACKAGES = {
  lab: ['python3', 'iproute2', 'iptables', 'nftables', 'conntrack', 'dnsutils', 'ipvsadm', 'openssl', 'procps', 'util-linux', 'curl'],
  e2e: ['chromium', 'libkrb5-dev', 'busybox'],
};

function isInstalled(name) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

/**
 * Ensures the packages of the given purposes are installed.
 * @param {Array<keyof typeof PACKAGES>} purposes
 * @returns {string[]} what was installed
 */
function ensureDebianPackages(purposes) {
  const wanted = [...new Set(purposes.flatMap((purpose) => PACKAGES[purpose] ?? []))];
  const missing = wanted.filter((name) => !isInstalled(name));
  if (missing.length === 0) {
    return [];
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`Missing Debian packages: ${missing.join(' ')}. Install them as root: apt-get install -y ${missing.join(' ')}`);
  }
  process.stderr.write(`[setup] installing Debian packages: ${missing.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  let result = install();
  if (result.status !== 0) {
    execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    result = install();
  }
  if (result.status !== 0) {
    throw new Error(`apt-get install ${missing.join(' ')} failed (exit ${result.status})`);
  }
  return missing;
}

module.exports = { ensureDebianPackages, PACKAGES };

if (require.main === module) {
  const purposes = process.argv.slice(2);
  try {
    const installed = ensureDebianPackages(purposes.length > 0 ? purposes : Object.keys(PACKAGES));
    process.stdout.write(installed.length > 0 ? `installed: ${installed.join(' ')}\n` : 'all Debian packages present\n');
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/**
 * Real peers the tests drive (tcpdump, tshark, nfpcapd...). Under CI=true a missing tool FAILS the
 * test that needs it; elsewhere the test is skipped with the tool's name, so a developer without
 * root still runs the rest. scripts/install-test-deps.sh installs them.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Returns true when every tool is present. When one is missing: throws under CI (the test fails),
 * returns false otherwise (the caller skips).
 */
export function requireTools(...names: string[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return true;
  const msg = `missing test dependency: ${missing.join(', ')} (scripts/install-test-deps.sh installs it)`;
  if (IN_CI) throw new Error(msg);
  console.warn(`skipping: ${msg}`);
  return false;
}

export function isRoot(): boolean {
  try {
    return execFileSync('id', ['-u']).toString().trim() === '0';
  } catch {
    return false;
  }
}

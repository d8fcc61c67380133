/**
 * bin/v6scope, the package's command: finds dist/ through npm's symlinks, sets MALLOC_ARENA_MAX=2
 * unless the caller set it, gives the daemons (serve, capture) V8 heap flags ahead of the caller's
 * NODE_OPTIONS, passes the arguments through untouched and execs Node (same process).
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const LAUNCHER = path.join(ROOT, 'bin/v6scope');
const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  pid: number;
}

function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) e[k] = v;
  // the launcher runs `node` from PATH: this test's own
  e.PATH = `${path.dirname(process.execPath)}${path.delimiter}${e.PATH ?? ''}`;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, pid: child.pid ?? -1 }));
  });
}

/** A package laid out like the real one (bin/v6scope, dist/cli/main.js), whose main.js prints what it got. */
function probePackage(): string {
  const root = path.join(dir, 'pkg');
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  mkdirSync(path.join(root, 'dist/cli'), { recursive: true });
  copyFileSync(LAUNCHER, path.join(root, 'bin/v6scope'));
  chmodSync(path.join(root, 'bin/v6scope'), 0o755);
  writeFileSync(
    path.join(root, 'dist/cli/main.js'),
    `import('node:v8').then((v8) => process.stdout.write(JSON.stringify({ arenaMax: process.env.MALLOC_ARENA_MAX ?? null, nodeOptions: process.env.NODE_OPTIONS ?? null, oldSpaceMB: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20), args: process.argv.slice(2), pid: process.pid, main: process.argv[1] })));\n`,
  );
  return root;
}

describe('bin/v6scope', () => {
  const pkg = probePackage();
  const probe = path.join(pkg, 'bin/v6scope');
  const probeMain = path.join(pkg, 'dist/cli/main.js');

  it('runs the real CLI: --version prints the package version, exit codes come through', async () => {
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const ok = await run(LAUNCHER, ['--version']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe(version);
    const usage = await run(LAUNCHER, ['nosuchcommand']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/nosuchcommand/);
  });

  it('is the package.json bin and is shipped', () => {
    const pj = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
    expect(pj.bin.v6scope).toBe('bin/v6scope');
    expect(pj.files).toContain('bin');
  });

  it('sets MALLOC_ARENA_MAX=2 when the environment has none', async () => {
    const r = await run(probe, [], { MALLOC_ARENA_MAX: undefined });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ arenaMax: '2', main: probeMain });
  });

  it.each([['8'], ['1'], ['']])('keeps MALLOC_ARENA_MAX=%j when the caller set it', async (v) => {
    const r = await run(probe, [], { MALLOC_ARENA_MAX: v });
    expect(JSON.parse(r.stdout).arenaMax).toBe(v);
  });

  const DAEMON_FLAGS = '--max-semi-space-size=2 --max-old-space-size=512';

  it.each([
    [['serve']],
    [['capture', '--interface', 'eth0']],
    [['--data', '/var/lib/v6scope', '--config', '/etc/v6scope.yaml', 'serve', '--api', ':8080']],
    [['--data=/d', '-q', '--json', 'serve']],
    [['--data', 'share', 'serve']],
  ])('gives the daemons V8 heap flags: %j', async (args) => {
    const r = await run(probe, args, { NODE_OPTIONS: undefined });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ nodeOptions: DAEMON_FLAGS, args });
    // Node applied them: V8's heap limit is the old space's 512 MB plus the young generation
    expect(out.oldSpaceMB).toBeGreaterThanOrEqual(512);
    expect(out.oldSpaceMB).toBeLessThan(530);
  });

  it.each([[[]], [['share']], [['aws', 'ingest', 'serve']], [['--config', 'serve', 'report']], [['--version']], [['--data', 'x']]])('not the other commands: %j', async (args) => {
    const r = await run(probe, args, { NODE_OPTIONS: undefined });
    const out = JSON.parse(r.stdout);
    expect(out.nodeOptions).toBeNull();
    // V8's own heap limit, as plain node has it here
    const plain = await run(process.execPath, ['-e', 'process.stdout.write(String(Math.round(require("v8").getHeapStatistics().heap_size_limit / 2 ** 20)))'], { NODE_OPTIONS: undefined });
    expect(out.oldSpaceMB).toBe(Number(plain.stdout));
  });

  it("puts them before the caller's NODE_OPTIONS, whose values win", async () => {
    const r = await run(probe, ['serve'], { NODE_OPTIONS: '--max-old-space-size=1024 --no-warnings' });
    const out = JSON.parse(r.stdout);
    expect(out.nodeOptions).toBe(`${DAEMON_FLAGS} --max-old-space-size=1024 --no-warnings`);
    expect(out.oldSpaceMB).toBeGreaterThanOrEqual(1024);
    const empty = await run(probe, ['serve'], { NODE_OPTIONS: '' });
    expect(JSON.parse(empty.stdout).nodeOptions).toBe(DAEMON_FLAGS);
  });

  it('passes the arguments through untouched', async () => {
    const args = ['--config', 'my dir/v6scope.yaml', 'share', '--filter', "family = 6 AND dst_name = 'a b'", '', '*', '$HOME', '-'];
    const r = await run(probe, args);
    expect(JSON.parse(r.stdout).args).toEqual(args);
  });

  it('replaces itself with Node (same process: signals reach Node, not a shell)', async () => {
    const r = await run(probe, []);
    expect(JSON.parse(r.stdout).pid).toBe(r.pid);
  });

  it("finds dist/ through npm's symlinks: absolute, relative and chained", async () => {
    const binDir = path.join(dir, 'prefix/bin');
    mkdirSync(binDir, { recursive: true });
    symlinkSync(probe, path.join(binDir, 'abs'));
    symlinkSync(path.relative(binDir, probe), path.join(binDir, 'rel'));
    mkdirSync(path.join(dir, 'other'), { recursive: true });
    symlinkSync(path.join(binDir, 'rel'), path.join(dir, 'other/chained'));
    for (const link of [path.join(binDir, 'abs'), path.join(binDir, 'rel'), path.join(dir, 'other/chained')]) {
      const r = await run(link, ['x']);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ args: ['x'], arenaMax: '2' });
      // main.js of the package the links lead to, reached through them
      expect(path.normalize(JSON.parse(r.stdout).main).endsWith(path.join('pkg', 'dist', 'cli', 'main.js'))).toBe(true);
    }
  });
});

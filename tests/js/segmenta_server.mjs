// Starts and stops a real `segmenta serve` for the JavaScript tests.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = process.env.SEGMENTA_BIN ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../build/release/src/cli/segmenta');

// Creates a fresh data directory with a write key and an admin token, starts the server on
// an ephemeral loopback port and resolves once it listens.
export async function startServer(extraArgs = []) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'segmenta-js-'));
  const key = (kind) =>
    execFileSync(BIN, ['--data-dir', dataDir, 'keys', 'create', '--kind', kind, '--name', `js-${kind}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const writeKey = key('write');
  const adminToken = key('admin');
  const child = spawn(BIN, ['--data-dir', dataDir, 'serve', '--port', '0', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  const api = async (route) => {
    const res = await fetch(url + route, { headers: { Authorization: `Bearer ${adminToken}` } });
    return { status: res.status, body: await res.json() };
  };
  const stop = async () => {
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.kill('SIGTERM');
    const result = await exited;
    rmSync(dataDir, { recursive: true, force: true });
    return result;
  };
  return { url, writeKey, adminToken, api, stop, stderr: () => stderr };
}

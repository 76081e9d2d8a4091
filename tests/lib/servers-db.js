// Real database servers from Debian, started by the tests on loopback:
// a private PostgreSQL (initdb into a temporary folder) and a private
// redis-server, each on an ephemeral port, torn down by stop().
//
//   const { startPostgres } = require('../lib/servers-db.js');
//   const pg = await startPostgres({ password: 'pw' });   // null: skip (says why)
//   pg.url            postgresql://llmgate:pw@127.0.0.1:PORT/llmgate
//   pg.query(sql)     rows as arrays of strings (psql -At)
//   await pg.stop();  await pg.start();   (the same data folder)
//   await pg.destroy();

'use strict';

const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const WAIT_MS = 30000;

function pgBinDir() {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return null;
  const versions = fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : null;
}

// A port nobody listens on now (the server binds it a moment later).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// a bound on a wait that does not keep node running once the wait is over
const bound = (ms) => new Promise((r) => setTimeout(r, ms).unref());

// As root, the servers run as their Debian system user (PostgreSQL refuses
// root); otherwise as the test's own user.
function asUser(user, cmd, args) {
  if (process.getuid && process.getuid() === 0) return ['runuser', ['-u', user, '--', cmd, ...args]];
  return [cmd, args];
}

async function startPostgres({ password = 'llmgate-test-pw' } = {}) {
  const bin = pgBinDir();
  if (!bin) return { skip: 'PostgreSQL is not installed (apt-get install postgresql)' };
  const root = process.getuid && process.getuid() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-pg-'));
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  fs.mkdirSync(sock);
  if (root) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (root) execFileSync('chown', ['postgres:postgres', pwfile]);
  const [c1, a1] = asUser('postgres', path.join(bin, 'initdb'),
    ['-D', data, '-U', 'llmgate', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256',
      '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  execFileSync(c1, a1, { stdio: 'ignore' });
  const port = await freePort();
  const pg = {
    dir, port, password, proc: null,
    url: `postgresql://llmgate:${password}@127.0.0.1:${port}/llmgate`,
    async start() {
      const [c, a] = asUser('postgres', path.join(bin, 'postgres'),
        ['-D', data, '-k', sock, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'max_connections=50']);
      this.proc = spawn(c, a, { stdio: ['ignore', 'ignore', 'pipe'] });
      this.proc.stderr.on('data', () => {});
      for (let i = 0; i < WAIT_MS / 100; i++) {
        try {
          execFileSync(path.join(bin, 'pg_isready'), ['-h', sock, '-p', String(port), '-U', 'llmgate', '-d', 'postgres'], { stdio: 'ignore' });
          return;
        } catch { await sleep(100); }
      }
      throw new Error('PostgreSQL did not start');
    },
    async stop(signal = 'SIGINT') {
      if (!this.proc) return;
      const p = this.proc;
      this.proc = null;
      const done = new Promise((r) => p.once('exit', r));
      // the postmaster itself (under runuser as root): its pid file
      let pid = 0;
      try { pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]); } catch { /* gone */ }
      try { if (pid > 0) process.kill(pid, signal === 'SIGINT' ? 'SIGINT' : signal); else p.kill(signal); } catch { /* gone */ }
      await Promise.race([done, bound(WAIT_MS)]);
    },
    // psql -At: rows as arrays of column strings
    query(sql, db = 'llmgate') {
      const out = execFileSync('psql', ['-h', sock, '-p', String(port), '-U', 'llmgate', '-d', db, '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
        { encoding: 'utf8' });
      return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    },
    async destroy() {
      await this.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  pg.query('CREATE DATABASE llmgate', 'postgres');
  return pg;
}

// A private redis-server on an ephemeral port, nothing saved to disk; with
// durable, every write is in its append-only file before it is answered
// (appendfsync always), so a kill -9 and a start again lose nothing.
async function startRedis({ password = '', durable = false } = {}) {
  let bin = null;
  for (const b of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (fs.existsSync(b)) bin = b;
  if (!bin) return { skip: 'redis-server is not installed (apt-get install redis-server)' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-redis-'));
  const port = await freePort();
  const auth = password ? `:${encodeURIComponent(password)}@` : '';
  const r = {
    dir, port, proc: null,
    url: `redis://${auth}127.0.0.1:${port}/0`,
    async start() {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', durable ? 'yes' : 'no',
        '--appendfsync', 'always', '--dir', dir, '--daemonize', 'no'];
      if (password) args.push('--requirepass', password);
      this.proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'ignore'] });
      for (let i = 0; i < WAIT_MS / 50; i++) {
        try { if (this.cli('PING')[0] === 'PONG') return; } catch { /* not yet */ }
        await sleep(50);
      }
      throw new Error('redis-server did not start');
    },
    async stop() {
      if (!this.proc) return;
      const p = this.proc;
      this.proc = null;
      const done = new Promise((res) => p.once('exit', res));
      p.kill('SIGKILL');
      await Promise.race([done, bound(WAIT_MS)]);
    },
    // redis-cli: the reply's lines
    cli(...args) {
      const a = ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning'];
      if (password) a.push('-a', password);
      return execFileSync('redis-cli', [...a, ...args], { encoding: 'utf8' }).split('\n').filter((l) => l !== '');
    },
    async destroy() {
      await this.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.start();
  return r;
}

module.exports = { startPostgres, startRedis, freePort, asUser };

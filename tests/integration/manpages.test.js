// The manual pages: `make install-man` puts one for each installed program
// (section 8) and llmgate.conf(5) in place, groff formats each without a
// warning, and every option a program's --help names is in its page.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { BUILD_DIR } = require('../lib/harness.js');

const GROFF = process.env.GROFF || '/usr/bin/groff';
const PROGRAMS = ['llmgate-router', 'llmgate-admin', 'llmgate-keys', 'llmgate-settle'];
const skip = !fs.existsSync(GROFF) ? `${GROFF} not installed (groff-base)`
  : !fs.existsSync(path.join(BUILD_DIR, 'Makefile')) ? `no Makefile in ${BUILD_DIR}` : false;

describe('man pages', { skip }, () => {
  let destdir;
  let pages = {};

  before(() => {
    destdir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgate-man-'));
    const r = spawnSync('make', ['-s', '-C', BUILD_DIR, 'install-man', `DESTDIR=${destdir}`, 'prefix=/usr'], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    pages = {};
    for (const sec of ['man5', 'man8']) {
      const d = path.join(destdir, 'usr/share/man', sec);
      for (const f of fs.existsSync(d) ? fs.readdirSync(d) : []) pages[f] = path.join(d, f);
    }
  });

  after(() => { if (destdir) fs.rmSync(destdir, { recursive: true, force: true }); });

  it('installs a page for each program and for llmgate.conf', () => {
    assert.deepEqual(Object.keys(pages).sort(), [...PROGRAMS.map((p) => `${p}.8`), 'llmgate.conf.5'].sort());
  });

  it('groff formats every page without a warning', () => {
    for (const [name, file] of Object.entries(pages)) {
      const r = spawnSync(GROFF, ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stderr, '', `${name} warns:\n${r.stderr}`);
    }
  });

  it("names every option of each program's --help", () => {
    for (const prog of PROGRAMS) {
      const r = spawnSync(path.join(BUILD_DIR, prog), ['--help'], { encoding: 'utf8', timeout: 10000 });
      const help = r.stdout + r.stderr;
      const text = spawnSync(GROFF, ['-man', '-Tutf8', '-P-cbou', pages[`${prog}.8`]], { encoding: 'utf8' }).stdout;
      const options = [...new Set(help.match(/--[a-z][a-z-]+/g) || [])];
      assert.ok(options.length > 0, `${prog} --help names options`);
      for (const o of options) assert.ok(text.replace(/\u2010/g, '-').includes(o), `${prog}(8) does not mention ${o}`);
    }
  });
});

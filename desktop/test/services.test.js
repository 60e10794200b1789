'use strict';
// lib/services.js against the real Python services of this repository (its .venv): run with
// `npm test` or `node --test test/*.test.js` from desktop/, no npm install needed.
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { test, after } = require('node:test');

const services = require('../lib/services');

const { ServiceError, errorPage, findPython, httpGet, startServices } = services;
const REPO = path.resolve(__dirname, '..', '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'automlops-desktop-'));
after(async () => {
  await services.stopAll(); // only does something when a test failed half-way: the run ends instead of hanging
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A fresh, empty studio home, so the tests never touch the repository's data lake or models. */
function home() {
  return fs.mkdtempSync(path.join(scratch, 'home-'));
}

/** True while any process of the group `pgid` exists (POSIX: kill(-pgid, 0)). */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    if (err.code === 'ESRCH') return false;
    throw err;
  }
}

/** Every process group in `pids` is empty (within a few seconds: a killed process takes a moment to be reaped). */
async function assertAllGone(pids, withinMs = 5000) {
  assert.ok(Array.isArray(pids) && pids.length > 0, 'no process ids to check');
  const deadline = Date.now() + withinMs;
  while (pids.some(groupAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids) assert.equal(groupAlive(pid), false, `process group ${pid} still has a process`);
}

/** Resolves true when something accepts a TCP connection on host:port. */
function listening(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

/** Run `fn` expecting a ServiceError; returns it. */
async function serviceError(fn) {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ServiceError, `expected a ServiceError, got ${err && err.stack}`);
    return err;
  }
  assert.fail('expected a ServiceError, but the start succeeded');
}

test('starts the dashboard and the API from the repo, both healthy; a crash is reported; stop() leaves no process', { timeout: 150000 }, async () => {
  const studio = await startServices({ home: home(), timeoutMs: 120000 });
  try {
    assert.equal(studio.python, findPython({ repoRoot: REPO }).python);
    assert.match(studio.dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(studio.dashboardUrl, studio.apiUrl);

    const health = await httpGet(`${studio.apiUrl}/`, { headers: { 'x-api-key': studio.apiKey } });
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).status, 'no_model'); // the fresh home holds no model
    // The key services.js generated is the one the API checks: a protected route refuses another.
    const wrong = await httpGet(`${studio.apiUrl}/model`, { headers: { 'x-api-key': 'not-the-key' } });
    assert.equal(wrong.status, 401);
    const right = await httpGet(`${studio.apiUrl}/model`, { headers: { 'x-api-key': studio.apiKey } });
    assert.equal(right.status, 503); // authorised, and honest: nothing to serve yet
    assert.match(JSON.parse(right.body).error.message, /no model/);

    const dash = await httpGet(`${studio.dashboardUrl}/_stcore/health`);
    assert.deepEqual([dash.status, dash.body.trim()], [200, 'ok']);
    const page = await httpGet(`${studio.dashboardUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="root">/);
    assert.equal(studio.failed(), null);
    assert.equal(await listening(studio.dashboardUrl), true); // the probe used after stop() below

    // A service that dies later (a crash, a kill from outside) is reported once, named, with its output.
    const failure = new Promise((resolve) => studio.watch(resolve));
    process.kill(-studio.services.find((s) => s.name === 'api').pid, 'SIGKILL');
    const err = await failure;
    assert.ok(err instanceof ServiceError);
    assert.equal(err.service, 'api');
    assert.equal(err.message, 'the prediction API (automlops serve) stopped: it was killed by SIGKILL');
    assert.match(err.output, /Uvicorn running on/);
    assert.equal(studio.failed().name, 'api');
  } finally {
    await studio.stop();
  }
  await assertAllGone(studio.pids);
  assert.equal(await listening(studio.apiUrl), false, 'the API port still answers');
  assert.equal(await listening(studio.dashboardUrl), false, 'the dashboard port still answers');
  await studio.stop(); // a second stop is harmless
});

test('a port already taken: a clear error naming the service and the port, every child stopped', { timeout: 120000 }, async () => {
  const blocker = net.createServer();
  await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address();
  try {
    const err = await serviceError(() => startServices({ home: home(), apiPort: port, timeoutMs: 90000 }));
    assert.equal(err.service, 'api');
    assert.match(err.message, new RegExp(`prediction API .* exited .*port ${port} is already in use`));
    assert.match(err.output, /address already in use/); // the child's own last lines come with it
    await assertAllGone(err.pids); // the dashboard, which was healthy or nearly so, was stopped too
    const page = errorPage(err);
    assert.match(page, /The prediction API failed/);
    assert.match(page, /address already in use/);
  } finally {
    blocker.close();
  }
});

test('services that are not healthy in time: a timeout error, every child stopped', { timeout: 60000 }, async () => {
  const err = await serviceError(() => startServices({ home: home(), timeoutMs: 300 }));
  assert.match(err.message, /did not become healthy within 0\.3 s/);
  await assertAllGone(err.pids);
});

test('the start can be cancelled (the window closed while starting): children stopped', { timeout: 60000 }, async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('the app is quitting')), 500);
  const err = await serviceError(() => startServices({ home: home(), signal: controller.signal }));
  assert.match(err.message, /start cancelled: the app is quitting/);
  await assertAllGone(err.pids);
});

test('the Node process exiting without stop() still kills the services', { timeout: 150000 }, async () => {
  const script = `
    const { startServices } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'services.js'))});
    startServices({ home: ${JSON.stringify(home())} }).then((studio) => {
      console.log(JSON.stringify(studio.pids));
      process.exit(0);
    }, (err) => { console.error(err.message); process.exit(1); });`;
  const result = childProcess.spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 140000 });
  assert.equal(result.status, 0, result.stderr);
  const pids = JSON.parse(result.stdout.trim().split('\n').pop());
  assert.equal(pids.length, 2);
  await assertAllGone(pids);
});

test('no Python anywhere: a clear error that says where it looked and what to do', async () => {
  const emptyRepo = fs.mkdtempSync(path.join(scratch, 'repo-'));
  const emptyPath = fs.mkdtempSync(path.join(scratch, 'path-'));
  const env = { PATH: emptyPath };
  const err = await serviceError(() => startServices({ repoRoot: emptyRepo, env }));
  assert.equal(err.service, 'python');
  assert.match(err.message, /^no Python found: AUTOMLOPS_PYTHON is not set, .*\.venv.* does not exist and there is no python3 on PATH$/);
  assert.match(err.hint, /make install/);
  assert.equal(err.pids, undefined); // nothing was started
  const page = errorPage(err);
  assert.match(page, /<h1>AutoMLOps Studio could not start<\/h1>/);
  assert.match(page, /Python failed:<\/strong> no Python found/);
});

test('AUTOMLOPS_PYTHON pointing at nothing is an error, not silently skipped', () => {
  const missing = path.join(scratch, 'no-such-python');
  assert.throws(() => findPython({ repoRoot: REPO, env: { AUTOMLOPS_PYTHON: missing, PATH: process.env.PATH } }),
    (err) => err instanceof ServiceError && err.message === `AUTOMLOPS_PYTHON is ${missing}, which is not an executable file`);
});

test('a Python without the studio installed: named, with what it cannot import', { timeout: 60000 }, async () => {
  // A bare virtual environment of the same interpreter: Python runs, the studio's packages are absent.
  const bare = path.join(scratch, 'bare-venv');
  const made = childProcess.spawnSync(findPython({ repoRoot: REPO }).python,
    ['-m', 'venv', '--without-pip', bare], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const python = path.join(bare, 'bin', 'python');
  const err = await serviceError(() => startServices({
    home: home(), env: { ...process.env, AUTOMLOPS_PYTHON: python }, repoRoot: scratch,
  }));
  assert.equal(err.service, 'python');
  assert.match(err.message, /cannot start the studio: it cannot import automlops, streamlit, uvicorn$/);
  assert.ok(err.message.includes(python));
});

test('errorPage escapes what the child printed', () => {
  const page = errorPage(new ServiceError('the dashboard exited', { service: 'dashboard', output: '<script>x</script> & more' }));
  assert.ok(!page.includes('<script>x'));
  assert.match(page, /&lt;script&gt;x&lt;\/script&gt; &amp; more/);
});

test('main.js parses (it needs the Electron binary to run, so only its syntax is checked here)', () => {
  const result = childProcess.spawnSync(process.execPath, ['--check', path.join(__dirname, '..', 'main.js')], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
});

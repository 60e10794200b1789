'use strict';
/**
 * The desktop app's process logic, in plain Node (built-in modules only, no Electron), so that
 * `node --test` can check it against the real Python services without installing anything.
 *
 * What it does, in the order `startServices` does it:
 *  1. find a Python: AUTOMLOPS_PYTHON, else the repo's .venv, else python3/python on PATH, and check
 *     that it can import the studio (automlops, streamlit, uvicorn) before starting anything;
 *  2. pick two free loopback ports (unless given);
 *  3. spawn the same two commands `make run` starts: the dashboard (`python -m streamlit run app.py`)
 *     and the API (`python -m automlops.cli serve`, i.e. `automlops serve`), each in its own process
 *     group so that stopping it also stops anything it started;
 *  4. wait until both answer over HTTP (the API's `/` with its key, Streamlit's `/_stcore/health`),
 *     with a deadline; a child that exits early fails at once, naming itself and its last output;
 *  5. `stop()` sends SIGTERM to each group, then SIGKILL to what is left after a grace period.
 *
 * Any failure is a `ServiceError` (what failed, a one-line reason, the last lines of the child's
 * output), and `errorPage(err)` turns it into the HTML page the window shows instead of the studio.
 */

const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const IS_WINDOWS = process.platform === 'win32';
/** The placeholder `.env.example` ships; the API refuses it, so it never counts as a key. */
const API_KEY_PLACEHOLDER = 'change-me';
/** Modules the studio's Python must be able to import (checked without importing: fast). */
const REQUIRED_MODULES = ['automlops', 'streamlit', 'uvicorn'];
const TAIL_BYTES = 16 * 1024;
const TAIL_LINES = 20;
/** How messages name each service. */
const LABELS = { dashboard: 'dashboard (streamlit run app.py)', api: 'prediction API (automlops serve)' };

/** A failure to start (or keep running) one part of the studio, in words a user can act on. */
class ServiceError extends Error {
  /**
   * @param {string} message one line: what failed and why
   * @param {{service?: string, output?: string, hint?: string}} [details]
   *   service: 'python', 'dashboard' or 'api'; output: the last lines the child printed
   */
  constructor(message, details = {}) {
    super(message);
    this.name = 'ServiceError';
    this.service = details.service || null;
    this.output = details.output || '';
    this.hint = details.hint || '';
  }
}

/** The repository holding app.py and api.py: desktop/.. (the packaged app passes its own). */
function defaultRepoRoot() {
  return path.resolve(__dirname, '..', '..');
}

function isExecutableFile(file) {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, IS_WINDOWS ? fs.constants.F_OK : fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function venvPython(repoRoot) {
  return IS_WINDOWS
    ? path.join(repoRoot, '.venv', 'Scripts', 'python.exe')
    : path.join(repoRoot, '.venv', 'bin', 'python');
}

function onPath(names, env) {
  for (const dir of (env.PATH || env.Path || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = path.join(dir, IS_WINDOWS ? `${name}.exe` : name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return null;
}

/**
 * The Python to run the studio with, and where it came from.
 * Order: AUTOMLOPS_PYTHON (an explicit choice: a wrong one is an error, not skipped), the repo's
 * `.venv` (what `make install` creates), then `python3`/`python` on PATH.
 * @returns {{python: string, source: string}}
 */
function findPython({ repoRoot = defaultRepoRoot(), env = process.env } = {}) {
  const chosen = (env.AUTOMLOPS_PYTHON || '').trim();
  if (chosen) {
    if (isExecutableFile(chosen)) return { python: chosen, source: 'AUTOMLOPS_PYTHON' };
    throw new ServiceError(`AUTOMLOPS_PYTHON is ${chosen}, which is not an executable file`, {
      service: 'python',
      hint: 'Point AUTOMLOPS_PYTHON at a Python 3.11+ that has the studio installed, or unset it.',
    });
  }
  const venv = venvPython(repoRoot);
  if (isExecutableFile(venv)) return { python: venv, source: 'the repository .venv' };
  const found = onPath(['python3', 'python'], env);
  if (found) return { python: found, source: 'PATH' };
  throw new ServiceError(
    `no Python found: AUTOMLOPS_PYTHON is not set, ${venv} does not exist and there is no python3 on PATH`,
    {
      service: 'python',
      hint: `Run "make install" in ${repoRoot} (it creates .venv), or set AUTOMLOPS_PYTHON to a Python ` +
        'that has the studio installed.',
    },
  );
}

/**
 * Check that `python` is 3.11+ and can import the studio, without starting it (find_spec only).
 * Resolves, or rejects with a ServiceError naming what is missing.
 */
function checkPython(python, { repoRoot = defaultRepoRoot(), env = process.env, timeoutMs = 30000 } = {}) {
  const code = [
    'import importlib.util, sys',
    'if sys.version_info < (3, 11): print("Python " + sys.version.split()[0] + " is too old (3.11+ needed)"); sys.exit(3)',
    `missing = [m for m in ${JSON.stringify(REQUIRED_MODULES)} if importlib.util.find_spec(m) is None]`,
    'if missing: print("it cannot import " + ", ".join(missing)); sys.exit(3)',
  ].join('\n');
  // Asynchronous: in Electron this runs on the main thread, which must keep the window responsive.
  return new Promise((resolve, reject) => {
    childProcess.execFile(python, ['-c', code], {
      cwd: repoRoot, env, encoding: 'utf8', timeout: timeoutMs, windowsHide: true,
    }, (error, stdout, stderr) => {
      if (!error) return resolve();
      if (typeof error.code !== 'number') {
        const why = error.killed ? `no answer within ${timeoutMs / 1000} s` : error.message;
        return reject(new ServiceError(`cannot run ${python}: ${why}`, { service: 'python', output: tail(stderr || '') }));
      }
      const reason = (stdout || '').trim() || `it exited with code ${error.code}`;
      return reject(new ServiceError(`the Python at ${python} cannot start the studio: ${reason}`, {
        service: 'python',
        output: tail(stderr || ''),
        hint: `Install the studio into it (pip install -e ${repoRoot}) or set AUTOMLOPS_PYTHON.`,
      }));
    });
  });
}

/** A free TCP port on `host` (the OS picks it; another process may still take it before we do). */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The last `TAIL_LINES` non-empty lines of `text`. */
function tail(text, lines = TAIL_LINES) {
  return text.split(/\r?\n/).filter((line) => line.trim()).slice(-lines).join('\n');
}

/**
 * One spawned service: its process group, the tail of what it printed, and a promise of its exit.
 * The output goes to `logFile` when given (kept whole there), and its tail stays in memory.
 */
class ServiceProcess {
  constructor(name, python, args, { cwd, env, logFile }) {
    this.name = name;
    this.label = LABELS[name] || name;
    this.command = [python, ...args];
    this.exitCode = null;
    this.signal = null;
    this.spawnError = null;
    this._buffer = '';
    this._log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
    // detached: a new process group on POSIX, so stop() reaches grandchildren too.
    this.child = childProcess.spawn(python, args, {
      cwd, env, detached: !IS_WINDOWS, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true,
    });
    this.pid = this.child.pid;
    const collect = (chunk) => {
      this._buffer = (this._buffer + chunk.toString('utf8')).slice(-TAIL_BYTES);
      if (this._log) this._log.write(chunk);
    };
    this.child.stdout.on('data', collect);
    this.child.stderr.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.spawnError = err;
        if (this.pid === undefined) resolve();
      });
      this.child.once('close', (code, signal) => {
        this.exitCode = code;
        this.signal = signal;
        if (this._log) this._log.end();
        resolve();
      });
    });
    LIVE.add(this);
    this.exited.then(() => LIVE.delete(this));
  }

  get running() {
    return this.pid !== undefined && this.exitCode === null && this.signal === null && !this._closed;
  }

  /** What the process printed last (stdout and stderr together, as a user would have seen it). */
  output() {
    return tail(this._buffer);
  }

  /** Send `signal` to the whole process group; false when nothing was there to signal. */
  signalGroup(signal) {
    if (this.pid === undefined) return false;
    try {
      if (IS_WINDOWS) {
        if (signal === 'SIGKILL' || !this.running) {
          childProcess.spawnSync('taskkill', ['/pid', String(this.pid), '/T', '/F'], { windowsHide: true });
        } else {
          this.child.kill(signal);
        }
      } else {
        process.kill(-this.pid, signal);
      }
      return true;
    } catch (err) {
      if (err.code === 'ESRCH') return false;
      throw err;
    }
  }

  /** SIGTERM the group, wait up to `graceMs` for the leader, then SIGKILL whatever is left. */
  async stop(graceMs = 5000) {
    if (this.signalGroup('SIGTERM')) {
      let timer;
      await Promise.race([this.exited, new Promise((r) => { timer = setTimeout(r, graceMs); })]);
      clearTimeout(timer);
    }
    this.signalGroup('SIGKILL'); // the leader may be gone while a grandchild lingers
    await this.exited;
    this._closed = true;
  }

  /** One line on how it ended, for messages. */
  describeExit() {
    if (this.spawnError) return `could not be started (${this.spawnError.message})`;
    if (this.signal) return `was killed by ${this.signal}`;
    return `exited with code ${this.exitCode}`;
  }
}

/** Services still running: killed (SIGKILL) if this Node process exits without stop(). */
const LIVE = new Set();
process.once('exit', () => {
  for (const service of LIVE) service.signalGroup('SIGKILL');
});

/** Stop every service this process started and has not stopped yet (a last resort, e.g. after a test). */
function stopAll(graceMs = 2000) {
  return Promise.all([...LIVE].map((service) => service.stop(graceMs)));
}

/** GET `url`: resolves {status, body} (body cut at 64 KiB) or rejects on a network error. */
function httpGet(url, { headers = {}, timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { if (body.length < 65536) body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** How uvicorn and Streamlit say that their port is taken. */
const PORT_CLASH = /address already in use|Port \d+ is not available|EADDRINUSE/i;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll `check.url` until `check.healthy(response)` or the deadline. Fails at once when the service
 * exits or `signal` aborts. Resolves with the last response.
 */
async function waitHealthy(service, check, { deadline, signal, intervalMs = 250 }) {
  let last = 'no answer yet';
  for (;;) {
    if (signal && signal.aborted) throw abortError(signal);
    if (!service.running) {
      const output = service.output();
      const clash = PORT_CLASH.test(output) ? `: port ${new URL(check.url).port} is already in use` : '';
      throw new ServiceError(`the ${service.label} ${service.describeExit()} before it answered on ${check.url}${clash}`, {
        service: service.name, output,
      });
    }
    try {
      const response = await httpGet(check.url, { headers: check.headers });
      if (check.healthy(response)) return response;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = err.code || err.message;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const seconds = (check.timeoutMs / 1000).toFixed(1).replace(/\.0$/, '');
      throw new ServiceError(
        `the ${service.label} did not become healthy within ${seconds} s (${check.url}: ${last})`,
        { service: service.name, output: service.output() },
      );
    }
    await Promise.race([sleep(Math.min(intervalMs, left)), service.exited]);
  }
}

function abortError(signal) {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'the start was cancelled';
  return new ServiceError(`start cancelled: ${reason}`);
}

function pickApiKey(env) {
  const key = (env.API_KEY || '').trim();
  return key && key !== API_KEY_PLACEHOLDER ? key : crypto.randomBytes(32).toString('base64url');
}

/**
 * Start the dashboard and the API and wait until both are healthy.
 *
 * @param {object} [options]
 * @param {string} [options.repoRoot] folder with app.py and api.py (default: desktop/..)
 * @param {string} [options.python] the Python to use (default: findPython)
 * @param {object} [options.env] base environment for the children (default: process.env)
 * @param {string} [options.home] AUTOMLOPS_HOME for both services (default: the environment's, else the repo)
 * @param {string} [options.host] bind address (default 127.0.0.1: the desktop app is local-only)
 * @param {number} [options.dashboardPort] default: a free port
 * @param {number} [options.apiPort] default: a free port
 * @param {string} [options.apiKey] default: API_KEY from the environment, else a fresh random key
 * @param {number} [options.timeoutMs] health deadline for both services (default 120 s)
 * @param {string} [options.logDir] write each service's whole output to <logDir>/<name>.log
 * @param {AbortSignal} [options.signal] abort the start (the window closed): children are stopped
 * @returns {Promise<Studio>}
 */
async function startServices(options = {}) {
  const repoRoot = path.resolve(options.repoRoot || defaultRepoRoot());
  const baseEnv = options.env || process.env;
  const host = options.host || '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 120000;
  const python = options.python || findPython({ repoRoot, env: baseEnv }).python;
  await checkPython(python, { repoRoot, env: baseEnv });

  const dashboardPort = options.dashboardPort || await freePort(host);
  let apiPort = options.apiPort || await freePort(host);
  while (!options.apiPort && apiPort === dashboardPort) apiPort = await freePort(host);
  const apiKey = options.apiKey || pickApiKey(baseEnv);
  const apiUrl = `http://${host}:${apiPort}`;
  const dashboardUrl = `http://${host}:${dashboardPort}`;
  const env = {
    ...baseEnv,
    PYTHONUNBUFFERED: '1',
    API_KEY: apiKey,
    API_PORT: String(apiPort),
    API_URL: apiUrl, // the dashboard's Models page asks the API what it serves
    STREAMLIT_BROWSER_GATHER_USAGE_STATS: 'false',
  };
  delete env.AUTOMLOPS_DEV; // the key is ours (the window must know it), never a throwaway one
  if (options.home) env.AUTOMLOPS_HOME = path.resolve(options.home);
  if (options.logDir) fs.mkdirSync(options.logDir, { recursive: true });
  const log = (name) => (options.logDir ? path.join(options.logDir, `${name}.log`) : undefined);

  const services = [];
  const studio = new Studio({ services, dashboardUrl, apiUrl, apiKey, python, repoRoot });
  try {
    services.push(new ServiceProcess('dashboard', python, [
      '-m', 'streamlit', 'run', 'app.py', '--server.headless=true', `--server.address=${host}`,
      `--server.port=${dashboardPort}`, '--browser.gatherUsageStats=false',
    ], { cwd: repoRoot, env, logFile: log('dashboard') }));
    services.push(new ServiceProcess('api', python, [
      '-m', 'automlops.cli', 'serve', '--host', host, '--port', String(apiPort),
    ], { cwd: repoRoot, env, logFile: log('api') }));
    const deadline = Date.now() + timeoutMs;
    const [dashboard, api] = services;
    await Promise.all([
      waitHealthy(dashboard, {
        url: `${dashboardUrl}/_stcore/health`, timeoutMs,
        healthy: (r) => r.status === 200 && r.body.trim() === 'ok',
      }, { deadline, signal: options.signal }),
      waitHealthy(api, {
        url: `${apiUrl}/`, timeoutMs, headers: { 'x-api-key': apiKey },
        healthy: (r) => r.status === 200 && isHealthRecord(r.body),
      }, { deadline, signal: options.signal }),
    ]);
  } catch (err) {
    await studio.stop();
    if (err instanceof ServiceError) err.pids = studio.pids; // what was started (and is now stopped)
    throw err;
  }
  return studio;
}

function isHealthRecord(body) {
  try {
    return typeof JSON.parse(body).status === 'string';
  } catch {
    return false;
  }
}

/** The running studio: where to find it, and `stop()`. */
class Studio {
  constructor({ services, dashboardUrl, apiUrl, apiKey, python, repoRoot }) {
    this.services = services;
    this.dashboardUrl = dashboardUrl;
    this.apiUrl = apiUrl;
    this.apiKey = apiKey;
    this.python = python;
    this.repoRoot = repoRoot;
    this._stopping = null;
  }

  /** Process ids of the services' groups (one per service). */
  get pids() {
    return this.services.map((s) => s.pid).filter((pid) => pid !== undefined);
  }

  /** A service that has exited on its own since the start, or null. */
  failed() {
    return this.services.find((s) => !s.running && !s._closed) || null;
  }

  /**
   * Call `onFailure(ServiceError)` once if a service exits on its own after the start (a crash, a
   * kill from outside); stop() does not count. The app shows the error page then.
   */
  watch(onFailure) {
    let told = false;
    for (const service of this.services) {
      service.exited.then(() => {
        if (told || this._stopping) return;
        told = true;
        onFailure(new ServiceError(`the ${service.label} stopped: it ${service.describeExit()}`, {
          service: service.name, output: service.output(),
        }));
      });
    }
  }

  /** Stop every service (both at once); safe to call twice. */
  stop(graceMs = 5000) {
    if (!this._stopping) this._stopping = Promise.all(this.services.map((s) => s.stop(graceMs)));
    return this._stopping;
  }
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => (
    { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]
  ));
}

const PAGE_STYLE = 'body{font-family:system-ui,sans-serif;margin:3em;max-width:60em;color:#222}' +
  'pre{background:#f4f4f4;padding:1em;overflow:auto;white-space:pre-wrap}h1{font-size:1.4em}';

const SERVICE_NAMES = { python: 'Python', dashboard: 'The dashboard', api: 'The prediction API' };

/** The page the window shows when the studio cannot start: what failed, why, its last output. */
function errorPage(err) {
  const what = SERVICE_NAMES[err && err.service] || 'The studio';
  const message = (err && err.message) || String(err);
  const parts = [
    '<!doctype html><html><head><meta charset="utf-8"><title>AutoMLOps Studio could not start</title>',
    `<style>${PAGE_STYLE}</style></head><body>`,
    '<h1>AutoMLOps Studio could not start</h1>',
    `<p><strong>${escapeHtml(what)} failed:</strong> ${escapeHtml(message)}</p>`,
  ];
  if (err && err.hint) parts.push(`<p>${escapeHtml(err.hint)}</p>`);
  if (err && err.output) parts.push('<p>Its last output:</p>', `<pre>${escapeHtml(err.output)}</pre>`);
  parts.push('<p>Close this window to quit; every process the app started has been stopped.</p></body></html>');
  return parts.join('\n');
}

/** The page shown while the services start. */
function loadingPage() {
  return '<!doctype html><html><head><meta charset="utf-8"><title>AutoMLOps Studio</title>' +
    `<style>${PAGE_STYLE}</style></head><body><h1>Starting AutoMLOps Studio…</h1>` +
    '<p>Starting the dashboard and the prediction API (a few seconds).</p></body></html>';
}

module.exports = {
  API_KEY_PLACEHOLDER,
  ServiceError,
  Studio,
  checkPython,
  defaultRepoRoot,
  errorPage,
  findPython,
  freePort,
  httpGet,
  loadingPage,
  startServices,
  stopAll,
};

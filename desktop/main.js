'use strict';
// Electron's main process, kept thin: every process decision lives in lib/services.js (tested with
// `node --test`); this file only opens the window, shows what services.js reports, and stops the
// services when the app quits.
const path = require('node:path');
const { app, BrowserWindow, Menu, clipboard, shell } = require('electron');
const { startServices, errorPage, loadingPage, defaultRepoRoot } = require('./lib/services');

let studio = null;
let started = Promise.resolve(); // settles once startServices has succeeded or cleaned up after itself
let stopped = false;
const starting = new AbortController();

/** The studio's Python sources: the repository in development, a copy in the installer's resources. */
function repoRoot() {
  if (process.env.AUTOMLOPS_REPO) return process.env.AUTOMLOPS_REPO;
  return app.isPackaged ? path.join(process.resourcesPath, 'studio') : defaultRepoRoot();
}

/** Installed apps keep their data lake and models under the user's data folder (resources are read-only). */
function studioHome() {
  if (process.env.AUTOMLOPS_HOME) return process.env.AUTOMLOPS_HOME;
  return app.isPackaged ? path.join(app.getPath('userData'), 'studio') : undefined;
}

const html = (page) => `data:text/html;charset=utf-8,${encodeURIComponent(page)}`;

function isLocal(url) {
  return studio !== null && (url.startsWith(studio.dashboardUrl) || url.startsWith(studio.apiUrl));
}

function buildMenu(win) {
  const template = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    {
      label: 'Studio',
      submenu: [
        { label: 'Dashboard', click: () => studio && win.loadURL(studio.dashboardUrl) },
        { label: 'API docs', click: () => studio && win.loadURL(`${studio.apiUrl}/docs`) },
        { label: 'Copy API key', click: () => studio && clipboard.writeText(studio.apiKey) },
        { label: 'Copy API address', click: () => studio && clipboard.writeText(studio.apiUrl) },
      ],
    },
    { role: 'viewMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function createWindow() {
  const win = new BrowserWindow({
    width: 1400, height: 900, title: 'AutoMLOps Studio',
    webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false },
  });
  // Links that leave the studio open in the user's browser, not inside the app.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (!isLocal(url)) shell.openExternal(url);
    return { action: isLocal(url) ? 'allow' : 'deny' };
  });
  win.webContents.on('will-navigate', (event, url) => {
    if (!isLocal(url) && !url.startsWith('data:')) {
      event.preventDefault();
      shell.openExternal(url);
    }
  });
  buildMenu(win);
  await win.loadURL(html(loadingPage()));
  try {
    started = startServices({
      repoRoot: repoRoot(), home: studioHome(), signal: starting.signal, logDir: app.getPath('logs'),
    });
    studio = await started;
    studio.watch((err) => { if (!win.isDestroyed()) win.loadURL(html(errorPage(err))); });
    if (!win.isDestroyed()) await win.loadURL(studio.dashboardUrl);
  } catch (err) {
    if (!win.isDestroyed() && !starting.signal.aborted) await win.loadURL(html(errorPage(err)));
  }
}

app.whenReady().then(createWindow);

app.on('window-all-closed', () => app.quit());
// Ctrl-C in the terminal of `npm start` (or a kill): quit the same way, stopping the services first.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => app.quit());

// Quit only once every child process has stopped (SIGTERM, then SIGKILL after a grace period).
app.on('before-quit', (event) => {
  if (stopped) return;
  event.preventDefault();
  starting.abort(new Error('the app is quitting'));
  started.catch(() => null).then(() => (studio ? studio.stop() : null)).finally(() => {
    stopped = true;
    app.quit();
  });
});

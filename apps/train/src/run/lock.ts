import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { RUN_FILES } from "./layout.js";

/** What the lock file of a results folder holds. */
export interface LockInfo {
  readonly host: string;
  readonly pid: number;
  /** Unique per acquisition: a holder recognises its own lock (pids repeat across machines). */
  readonly token: string;
  readonly command: string;
  readonly acquiredAt: string;
  /** Epoch milliseconds of the last renewal, by the holder's clock. */
  readonly renewedAt: number;
  /** The lock counts as abandoned once `renewedAt + leaseMs` has passed. */
  readonly leaseMs: number;
}

/** Another live process writes the folder. */
export class FolderLockedError extends UsageError {
  override readonly name = "FolderLockedError";
}

export interface LockOptions {
  /** How long a lock stays valid without renewal (default 60 s: generous for clock skew on NFS). */
  readonly leaseMs?: number;
  /** Renewal period (default 5 s). */
  readonly renewMs?: number;
  readonly command?: string;
  readonly warn?: (message: string) => void;
}

const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_RENEW_MS = 5_000;

function describe(info: LockInfo): string {
  const age = ((Date.now() - info.renewedAt) / 1000).toFixed(0);
  return `pid ${info.pid} on host ${info.host} (${info.command}; lease renewed ${age} s ago)`;
}

function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
    return typeof info.pid === "number" && typeof info.host === "string" ? info : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Why a lock no longer protects anything, or undefined while its holder lives: on this machine a
 * dead pid frees it at once (SIGKILL); elsewhere only the lease can tell (a machine may be gone).
 */
function abandoned(info: LockInfo | undefined, mtimeMs: number): string | undefined {
  if (info === undefined) {
    // Unreadable: written half by a crashed holder, or not ours. Judge by the file's age.
    return Date.now() - mtimeMs > DEFAULT_LEASE_MS ? "an unreadable lock file" : undefined;
  }
  if (info.host === hostname() && !processAlive(info.pid)) return `${describe(info)}, whose process is gone`;
  if (Date.now() - info.renewedAt > info.leaseMs) return `${describe(info)}, whose lease expired`;
  return undefined;
}

function writeFileSynced(path: string, text: string): void {
  const fd = openSync(path, "wx");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * An exclusive, lease-based lock on a results folder, safe on NFS: the lock is taken with link(2),
 * which is atomic on NFS where O_EXCL historically was not, and success is confirmed by the link
 * count of our own unique file (a lost reply to a link that did happen still shows 2 links).
 * The holder renews the lease every few seconds; a lock whose process died on this machine, or
 * whose lease expired, is taken over with a warning.
 */
export class FolderLock {
  private timer: NodeJS.Timeout | undefined;
  private info: LockInfo;
  private lostReason: string | undefined;

  private constructor(
    readonly dir: string,
    info: LockInfo,
    private readonly renewMs: number,
    private readonly warn: (message: string) => void,
  ) {
    this.info = info;
  }

  get path(): string {
    return join(this.dir, RUN_FILES.lock);
  }

  /** Why the lock was lost (another process took it over), or undefined while it is held. */
  get lost(): string | undefined {
    return this.lostReason;
  }

  /** Takes the lock of `dir` (which must exist), or throws {@link FolderLockedError} naming the holder. */
  static acquire(dir: string, options: LockOptions = {}): FolderLock {
    const warn = options.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const path = join(dir, RUN_FILES.lock);
    for (let attempt = 0; attempt < 5; attempt++) {
      const token = randomBytes(8).toString("hex");
      const info: LockInfo = {
        host: hostname(),
        pid: process.pid,
        token,
        command: options.command ?? process.argv.slice(2).join(" "),
        acquiredAt: new Date().toISOString(),
        renewedAt: Date.now(),
        leaseMs,
      };
      const mine = `${path}.${info.host}.${info.pid}.${token}`;
      writeFileSynced(mine, `${JSON.stringify(info)}\n`);
      let linked = false;
      try {
        linkSync(mine, path);
        linked = true;
      } catch {
        linked = statSync(mine).nlink === 2;
      }
      unlinkSync(mine);
      if (linked) {
        const lock = new FolderLock(dir, info, options.renewMs ?? DEFAULT_RENEW_MS, warn);
        lock.start();
        return lock;
      }
      let mtimeMs = Date.now();
      try {
        mtimeMs = statSync(path).mtimeMs;
      } catch {
        continue; // released meanwhile: try again
      }
      const holder = readLock(path);
      const reason = abandoned(holder, mtimeMs);
      if (reason === undefined) {
        throw new FolderLockedError(
          `${dir} is being written by ${holder === undefined ? "another process" : describe(holder)}; wait for it to finish or stop it (its lock: ${path})`,
        );
      }
      // Rename, not unlink: of several processes taking over at once, exactly one succeeds.
      try {
        const stale = `${path}.stale-${token}`;
        renameSync(path, stale);
        unlinkSync(stale);
        warn(`took over the lock of ${dir} from ${reason}`);
      } catch {
        // another process took it over first; the next attempt finds its live lock
      }
    }
    throw new FolderLockedError(`could not lock ${dir}: the lock changed hands repeatedly`);
  }

  /** Extends the lease now (also called between training units, in case timers are starved). */
  renew(): void {
    if (this.lostReason !== undefined || this.timer === undefined) return;
    const current = readLock(this.path);
    if (current?.token !== this.info.token) {
      this.lostReason =
        current === undefined
          ? `its lock file ${this.path} disappeared`
          : `it was taken over by ${describe(current)}`;
      this.stop();
      this.warn(`lost the lock of ${this.dir}: ${this.lostReason}`);
      return;
    }
    this.info = { ...this.info, renewedAt: Date.now() };
    const tmp = `${this.path}.${this.info.host}.${this.info.pid}.${this.info.token}.renew`;
    try {
      writeFileSynced(tmp, `${JSON.stringify(this.info)}\n`);
      renameSync(tmp, this.path);
    } catch (error) {
      this.warn(`could not renew the lock of ${this.dir}: ${(error as Error).message}`);
    }
  }

  private start(): void {
    this.timer = setInterval(() => this.renew(), this.renewMs);
    // The lease must not keep a finished process alive.
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Removes the lock if it is still ours. */
  release(): void {
    const held = this.timer !== undefined;
    this.stop();
    if (!held || this.lostReason !== undefined) return;
    if (readLock(this.path)?.token === this.info.token) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
  }
}

/** Throws {@link FolderLockedError} if a live process holds the lock of `dir` (reads only). */
export function assertUnlocked(dir: string): void {
  const path = join(dir, RUN_FILES.lock);
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return;
  }
  const holder = readLock(path);
  if (abandoned(holder, mtimeMs) === undefined) {
    throw new FolderLockedError(
      `${dir} is being written by ${holder === undefined ? "another process" : describe(holder)}; wait for it to finish or stop it (its lock: ${path})`,
    );
  }
}

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Whether the queue tests can run: redis-server on PATH. In CI (`CI` set) its absence is a failure
 * (.ci/run installs Debian's package); elsewhere the tests are skipped with this message.
 */
export function redisServerAvailable(): { ok: boolean; message: string } {
  try {
    const v = execFileSync("redis-server", ["--version"], { encoding: "utf8" });
    return { ok: true, message: v.trim() };
  } catch {
    const message =
      "redis-server is not installed: the distributed-sweep tests are skipped (apt-get install redis-server)";
    if (process.env.CI !== undefined && process.env.CI !== "")
      throw new Error(`${message}; in CI it is required (.ci/run installs it)`);
    return { ok: false, message };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** A private redis-server on a free loopback port, persistent (AOF, fsync on every write). */
export class TestRedis {
  private proc: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), "sgprop-redis-"));

  private constructor(
    readonly port: number,
    readonly password: string | undefined,
  ) {}

  static async start(password?: string): Promise<TestRedis> {
    const r = new TestRedis(await freePort(), password);
    await r.launch();
    return r;
  }

  get url(): string {
    return `redis://${this.password === undefined ? "" : `:${this.password}@`}127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, on the same port and data folder) the server; resolves once it accepts connections. */
  launch(): Promise<void> {
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
      ...(this.password === undefined ? [] : ["--requirepass", this.password]),
    ];
    const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    return new Promise((resolveReady, reject) => {
      let log = "";
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
      proc.stdout?.on("data", (c: Buffer) => {
        log += c.toString();
        if (log.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolveReady();
        }
      });
      proc.on("exit", (code) => {
        clearTimeout(timer);
        if (!log.includes("Ready to accept connections"))
          reject(new Error(`redis-server exited with ${code}:\n${log}`));
      });
    });
  }

  /** SIGKILL: no shutdown save, what the append-only file holds is all that survives. */
  kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc === undefined || proc.exitCode !== null) return Promise.resolve();
    return new Promise((r) => {
      proc.on("exit", () => r());
      proc.kill("SIGKILL");
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

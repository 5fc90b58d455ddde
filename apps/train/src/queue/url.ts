import { InvalidOptionError, UsageError } from "../errors.js";

/** A parsed `--queue` URL: what BullMQ connects with, and a form safe to print. */
export interface QueueUrl {
  /** The URL as given, password included: only ever handed to the Redis client. */
  readonly url: string;
  /** The URL with any password replaced by `***`: the only form that is logged or written. */
  readonly safe: string;
  readonly tls: boolean;
}

/** The environment variable read when `--queue` is not given (keeps a password out of `ps`). */
export const QUEUE_ENV = "SGPROP_QUEUE";

/** Replaces the password (and a user name's secret part) of every redis URL in `text`. */
export function redact(text: string, url?: string): string {
  let out = text.replace(/(rediss?:\/\/)([^@\s/]*)@/gi, (_m, scheme: string, auth: string) => {
    const user = auth.includes(":") ? auth.slice(0, auth.indexOf(":")) : "";
    return `${scheme}${user}:***@`;
  });
  if (url !== undefined) {
    const password = passwordOf(url);
    if (password !== "") out = out.split(password).join("***");
  }
  return out;
}

function passwordOf(url: string): string {
  try {
    const u = new URL(url);
    const p = decodeURIComponent(u.password || "");
    // A URL with only "redis://secret@host" carries the password in the user name.
    return p !== "" ? p : u.username !== "" && u.password === "" ? decodeURIComponent(u.username) : "";
  } catch {
    return "";
  }
}

/**
 * Checks a queue URL (`redis://[user:password@]host[:port][/db]` or `rediss://` for TLS) without
 * ever echoing its password back: the error shows the redacted form.
 */
export function parseQueueUrl(raw: string | undefined, flag = "--queue"): QueueUrl {
  const given = raw ?? process.env[QUEUE_ENV];
  if (given === undefined || given === "")
    throw new InvalidOptionError(flag, "", `a redis:// or rediss:// URL (or set ${QUEUE_ENV})`);
  const safe = redact(given, given);
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    // Not a URL at all: the value could be a password pasted in the wrong place, so it is not echoed.
    throw new UsageError(
      `invalid value for ${flag} (not shown: it may hold a password): expected a URL redis://[:password@]host[:port][/db] or rediss://...`,
    );
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new InvalidOptionError(flag, safe, "a URL starting with redis:// or rediss:// (TLS)");
  if (u.hostname === "") throw new InvalidOptionError(flag, safe, "a URL naming a host");
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db))
    throw new InvalidOptionError(flag, safe, "a database number after the host (redis://host:6379/0)");
  if (u.search !== "" || u.hash !== "")
    throw new InvalidOptionError(flag, safe, "a URL without ?query or #fragment");
  return { url: given, safe, tls: u.protocol === "rediss:" };
}

/**
 * Removes the password from this process's own argv, so nothing that records the command line
 * (lock files, provenance, error reports) can copy it. `ps` still shows the original: pass the
 * URL in SGPROP_QUEUE to keep it out of the process list as well.
 */
export function scrubArgv(url: QueueUrl): void {
  for (let i = 0; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a !== undefined) process.argv[i] = redact(a, url.url);
  }
}

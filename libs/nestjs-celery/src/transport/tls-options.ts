/**
 * TLS of broker and backend connections: Celery's `broker_use_ssl` / `redis_backend_use_ssl` and
 * kombu's `ssl_*` URL query (`?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem`), turned into Node's
 * `tls.connect` options.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/** ssl_cert_reqs: verify the server's certificate ('required', the default) or not ('none'). */
export type CertReqs = 'required' | 'optional' | 'none';

/**
 * Celery's `broker_use_ssl` / `redis_backend_use_ssl`. Files are paths, as Celery takes them;
 * `ca`, `cert` and `key` take PEM contents instead. Celery's own spellings are accepted too:
 * kombu/redis-py's `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`, `ssl_cert_reqs`,
 * `ssl_check_hostname` and py-amqp's `ca_certs`, `certfile`, `keyfile`, `cert_reqs`, `server_hostname`.
 */
export interface SslOptions {
  /** CA bundle file the server's certificate must chain to (default: Node's built-in CAs) */
  caCerts?: string;
  /** client certificate file, for servers that require one (mutual TLS) */
  certfile?: string;
  /** the client certificate's private key file */
  keyfile?: string;
  /** 'required' (default; 'optional' is the same for a client) or 'none': no verification at all */
  certReqs?: CertReqs | 'CERT_REQUIRED' | 'CERT_OPTIONAL' | 'CERT_NONE';
  /** name sent as SNI and matched against the certificate (default: the URL's host) */
  serverHostname?: string;
  /** match the certificate against the host name (default true); false still checks the chain */
  checkHostname?: boolean;
  /** PEM contents instead of files */
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
  /** passphrase of an encrypted key */
  passphrase?: string;
}

/** A TLS setting that cannot be used (unknown key, unreadable file, bad verify mode). */
export class TlsConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsConfigError';
  }
}

/** Every accepted spelling → its SslOptions key. */
const SPELLINGS: Record<string, keyof SslOptions> = {
  caCerts: 'caCerts',
  ssl_ca_certs: 'caCerts',
  ca_certs: 'caCerts',
  certfile: 'certfile',
  ssl_certfile: 'certfile',
  keyfile: 'keyfile',
  ssl_keyfile: 'keyfile',
  certReqs: 'certReqs',
  ssl_cert_reqs: 'certReqs',
  cert_reqs: 'certReqs',
  serverHostname: 'serverHostname',
  server_hostname: 'serverHostname',
  ssl_server_hostname: 'serverHostname',
  checkHostname: 'checkHostname',
  ssl_check_hostname: 'checkHostname',
  check_hostname: 'checkHostname',
  ca: 'ca',
  cert: 'cert',
  key: 'key',
  passphrase: 'passphrase',
  ssl_password: 'passphrase',
};

const CERT_REQS: Record<string, CertReqs> = {
  required: 'required',
  CERT_REQUIRED: 'required',
  '2': 'required',
  optional: 'optional',
  CERT_OPTIONAL: 'optional',
  '1': 'optional',
  none: 'none',
  CERT_NONE: 'none',
  '0': 'none',
};

/**
 * SslOptions from any accepted spelling (module options, env JSON, URL query). `where` names
 * the setting in errors. Unknown keys are refused: a misspelt `ssl_ca_certs` would otherwise
 * mean no CA at all.
 */
export function readSslOptions(input: Record<string, unknown>, where: string): SslOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const name = SPELLINGS[key];
    if (!name) {
      throw new TlsConfigError(
        `unknown TLS option "${key}" in ${where}; use caCerts (ssl_ca_certs), certfile, keyfile, certReqs (ssl_cert_reqs), serverHostname, checkHostname, ca, cert, key or passphrase`,
      );
    }
    if (value === undefined || value === null) continue;
    if (name === 'certReqs') {
      const mode = typeof value === 'string' || typeof value === 'number' ? CERT_REQS[String(value)] : undefined;
      if (!mode) throw new TlsConfigError(`${key}=${JSON.stringify(value)} in ${where} is not a verify mode; use required, optional or none`);
      out[name] = mode;
    } else if (name === 'checkHostname') {
      out[name] = value === true || value === 'true' || value === 'True' || value === '1';
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** The `ssl_*` keys of a URL's query, read as SslOptions, and the URL without them. */
export function takeSslQuery(url: URL, where: string): SslOptions | undefined {
  const found: Record<string, string> = {};
  for (const [key, value] of [...url.searchParams]) {
    if (!key.startsWith('ssl_')) continue;
    found[key] = value;
    url.searchParams.delete(key);
  }
  return Object.keys(found).length ? readSslOptions(found, where) : undefined;
}

/**
 * Whether a connection uses TLS, and with what: a TLS scheme (amqps, rediss), `ssl_*` in the
 * URL or a configured `*_use_ssl` each turn it on (as in Celery); URL keys win over options.
 * Returns undefined for a plain connection.
 */
export function resolveSsl(
  tlsScheme: boolean,
  fromUrl: SslOptions | undefined,
  configured: boolean | SslOptions | undefined,
  setting: string,
): SslOptions | undefined {
  if (!tlsScheme && !fromUrl && !configured) return undefined;
  if (configured !== undefined && typeof configured !== 'boolean' && (typeof configured !== 'object' || configured === null || Array.isArray(configured))) {
    throw new TlsConfigError(`${setting} must be true, false or an object of TLS settings such as { caCerts: '/etc/ssl/ca.pem' }`);
  }
  return { ...(typeof configured === 'object' ? readSslOptions(configured as Record<string, unknown>, setting) : {}), ...fromUrl };
}

function readPem(path: string, key: string, where: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new TlsConfigError(`cannot read the ${key} file "${path}" given in ${where}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Node `tls.connect` options for SslOptions: certificate files read now (so a wrong path fails
 * at startup), verification on unless certReqs is 'none'. `where` names the setting in errors.
 */
export function tlsConnectionOptions(ssl: SslOptions, where: string): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: ssl.certReqs !== 'none' };
  const ca = ssl.caCerts !== undefined ? readPem(ssl.caCerts, 'ssl_ca_certs', where) : ssl.ca;
  if (ca !== undefined) options.ca = ca;
  const cert = ssl.certfile !== undefined ? readPem(ssl.certfile, 'ssl_certfile', where) : ssl.cert;
  if (cert !== undefined) options.cert = cert;
  const key = ssl.keyfile !== undefined ? readPem(ssl.keyfile, 'ssl_keyfile', where) : ssl.key;
  if (key !== undefined) options.key = key;
  if (ssl.passphrase !== undefined) options.passphrase = ssl.passphrase;
  if (ssl.serverHostname !== undefined) options.servername = ssl.serverHostname;
  if (ssl.checkHostname === false) options.checkServerIdentity = () => undefined;
  return options;
}

/** A hint to add to a connection error that looks like a TLS verification failure. */
export function tlsErrorHint(error: unknown): string {
  const code = String((error as { code?: string | number })?.code ?? '');
  const message = String((error as Error)?.message ?? '');
  const tls = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/i.test(code) || /certificate|SSL|TLS|altnames/i.test(message);
  return tls
    ? ' (TLS: check that ssl_ca_certs / caCerts is the CA that signed the server certificate, that the host name matches it, and the client certificate if the server requires one)'
    : '';
}

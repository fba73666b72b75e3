/**
 * Throwaway certificates for TLS tests, made with the openssl CLI: a CA, a server certificate for
 * localhost / 127.0.0.1 and a client certificate signed by it, and a second, unrelated CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** the CA that signed server and client */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** a CA that signed nothing here: verifying the server with it must fail */
  wrongCa: string;
  remove(): void;
}

const openssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

function selfSignedCa(dir: string, name: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
  );
}

function signed(dir: string, name: string, ca: string, extensions: string): void {
  openssl(
    dir,
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  );
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  );
}

/** Generate a fresh set in a new temporary directory (remove() deletes it). */
export function generateTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-celery-tls-'));
  selfSignedCa(dir, 'ca');
  selfSignedCa(dir, 'wrong-ca');
  signed(dir, 'localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\n');
  const path = (file: string) => join(dir, file);
  return {
    dir,
    ca: path('ca.pem'),
    serverCert: path('localhost.pem'),
    serverKey: path('localhost.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
    wrongCa: path('wrong-ca.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

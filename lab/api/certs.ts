/**
 * The lab API server's TLS material: a self-signed CA and a server certificate for
 * 127.0.0.1/localhost signed by it, made with the `openssl` CLI (argv arrays, constant
 * extension text) and kept in the lab's state directory between runs.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TlsFiles {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

const SERVER_EXTENSIONS = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
  '',
].join('\n');

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('openssl', [...args], { timeout: 30_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || (error instanceof Error ? error.message : String(error))}`);
  }
}

function usable(files: TlsFiles): boolean {
  return [files.caCert, files.caKey, files.serverCert, files.serverKey].every((file) => fs.existsSync(file) && fs.statSync(file).size > 0);
}

/** Creates the CA and server certificate in `directory` unless they are already there. */
export async function ensureTls(directory: string): Promise<TlsFiles> {
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const files: TlsFiles = {
    caCert: path.join(directory, 'ca.crt'),
    caKey: path.join(directory, 'ca.key'),
    serverCert: path.join(directory, 'apiserver.crt'),
    serverKey: path.join(directory, 'apiserver.key'),
  };
  if (usable(files)) {
    return files;
  }
  const csr = path.join(directory, 'apiserver.csr');
  const extensions = path.join(directory, 'apiserver.ext');
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req', '-x509', ...ecKey,
    '-keyout', files.caKey, '-out', files.caCert,
    '-days', '3650', '-subj', '/CN=kni-lab-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,digitalSignature,keyCertSign,cRLSign',
  ]);
  await openssl(['req', '-new', ...ecKey, '-keyout', files.serverKey, '-out', csr, '-subj', '/CN=kube-apiserver']);
  fs.writeFileSync(extensions, SERVER_EXTENSIONS, { mode: 0o600 });
  await openssl([
    'x509', '-req', '-in', csr,
    '-CA', files.caCert, '-CAkey', files.caKey, '-CAcreateserial',
    '-out', files.serverCert, '-days', '825', '-sha256', '-extfile', extensions,
  ]);
  for (const file of [files.caKey, files.serverKey]) {
    fs.chmodSync(file, 0o600);
  }
  fs.rmSync(csr, { force: true });
  return files;
}

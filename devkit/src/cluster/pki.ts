/**
 * Certificates and kubeconfigs for a Kubernetes control plane made here: one CA, serving and client
 * certificates signed by it (openssl CLI, ECDSA P-256 keys), the service-account signing key pair.
 * Used by the envtest harness (devkit/src/cluster/envtest.ts) and the local cluster (devkit/src/cluster/).
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateRequest {
  /** Files NAME.crt and NAME.key. */
  name: string;
  /** The subject: CN is the user name, each O a group, for client certificates. */
  commonName: string;
  organizations?: readonly string[];
  usage: 'server' | 'client' | 'both';
  /** IP and DNS subject alternative names of a serving certificate. */
  ips?: readonly string[];
  dnsNames?: readonly string[];
}

function run(command: string, args: readonly string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
}

function writeKey(path: string): void {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
}

const EXTENDED_USAGE = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' } as const;

function extensions(request: CertificateRequest): string {
  const names = [
    ...(request.ips ?? []).map((ip) => `IP:${ip}`),
    ...(request.dnsNames ?? []).map((dns) => `DNS:${dns}`),
  ];
  return [
    `[${request.name}]`,
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage = ${EXTENDED_USAGE[request.usage]}`,
    ...(names.length > 0 ? [`subjectAltName = ${names.join(',')}`] : []),
  ].join('\n');
}

/** Writes ca.crt/ca.key, one NAME.crt/NAME.key per request and sa.key/sa.pub into `dir`. */
export function generatePki(
  dir: string,
  caName: string,
  requests: readonly CertificateRequest[],
  validDays = 7,
): void {
  const config = [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    '[ca]',
    'basicConstraints = critical,CA:TRUE',
    'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
    'subjectKeyIdentifier = hash',
    ...requests.map(extensions),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'openssl.cnf'), config);
  const certificate = (name: string, subject: string, signed: boolean) => {
    writeKey(join(dir, `${name}.key`));
    const signer = signed ? ['-CA', 'ca.crt', '-CAkey', 'ca.key'] : [];
    const args = ['req', '-x509', '-config', 'openssl.cnf', '-extensions', signed ? name : 'ca'];
    run(
      'openssl',
      [
        ...args,
        '-key',
        `${name}.key`,
        ...signer,
        '-subj',
        subject,
        '-days',
        String(validDays),
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
  };
  certificate('ca', `/CN=${caName}`, false);
  for (const request of requests) {
    const groups = (request.organizations ?? []).map((o) => `/O=${o}`).join('');
    certificate(request.name, `${groups}/CN=${request.commonName}`, true);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}

const base64 = (path: string) => readFileSync(path).toString('base64');

/** A kubeconfig for `server`, trusting `caPath`, as a client certificate or a bearer token. */
export function kubeconfigYaml(
  server: string,
  caPath: string,
  user: { certificate: string; key: string } | { token: string },
  clusterName = 'envtest',
): string {
  const credentials =
    'token' in user
      ? `    token: ${user.token}`
      : `    client-certificate-data: ${base64(user.certificate)}\n    client-key-data: ${base64(user.key)}`;
  return `apiVersion: v1
kind: Config
clusters:
- name: ${clusterName}
  cluster:
    server: ${server}
    certificate-authority-data: ${base64(caPath)}
users:
- name: ${clusterName}-user
  user:
${credentials}
contexts:
- name: ${clusterName}
  context:
    cluster: ${clusterName}
    user: ${clusterName}-user
current-context: ${clusterName}
`;
}

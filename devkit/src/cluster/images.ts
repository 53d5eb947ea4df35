/**
 * The images the local cluster runs: built by scripts/cluster-images.sh (buildah, no Docker, no registry),
 * imported into containerd's k8s.io namespace, and named in the bundle values the local charts are
 * synthesized with (the committed charts keep the upstream images).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValuesOverride } from '@concert-booking/cdk8s/values';
import { spawnProcess } from '../process.js';
import { ROOT } from '../programs.js';
import { NETWORK, APISERVER_PORT, type ClusterLayout } from './layout.js';

export const IMAGE_KEYS = [
  'service',
  'load',
  'postgres',
  'redis',
  'prometheus',
  'alertmanager',
  'pause',
  'coredns',
] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];
export interface LocalImage {
  reference: string;
  archive: string;
}
export type LocalImages = Record<ImageKey, LocalImage>;

async function run(name: string, command: string, args: string[], echo = false): Promise<string> {
  const child = spawnProcess({ name, command, args, inheritEnv: true });
  let stdout = '';
  child.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  if (echo) child.child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const { code, signal } = await child.exited;
  if (code !== 0) throw new Error(`${name} exited ${code ?? signal}\n${child.output().slice(-4000)}`);
  return stdout;
}

/** Builds (or finds, unchanged) every image and its OCI archive. */
export async function buildImages(binariesDir: string): Promise<LocalImages> {
  const stdout = await run(
    'cluster-images.sh',
    'bash',
    [join(ROOT, 'scripts/cluster-images.sh'), binariesDir],
    true,
  );
  const images: Partial<LocalImages> = {};
  for (const line of stdout.trim().split('\n')) {
    const [key, reference, archive] = line.split(' ');
    if ((IMAGE_KEYS as readonly string[]).includes(key!) && reference && archive) {
      images[key as ImageKey] = { reference, archive };
    }
  }
  const missing = IMAGE_KEYS.filter((key) => !images[key]);
  if (missing.length > 0) throw new Error(`scripts/cluster-images.sh did not report: ${missing.join(', ')}`);
  return images as LocalImages;
}

/** Imports the archives containerd does not have yet (a record in its root folder says which it has). */
export async function importImages(layout: ClusterLayout, images: LocalImages): Promise<void> {
  const record = join(layout.images, 'imported.json');
  const imported = new Set<string>(
    existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as string[]) : [],
  );
  for (const { archive } of Object.values(images)) {
    if (imported.has(archive)) continue;
    await run('ctr import', 'ctr', [
      '--address',
      layout.containerdSocket,
      '--namespace',
      'k8s.io',
      'images',
      'import',
      archive,
    ]);
    imported.add(archive);
    writeFileSync(record, JSON.stringify([...imported]));
  }
}

function splitReference(reference: string): { repository: string; tag: string } {
  const at = reference.lastIndexOf(':');
  return { repository: reference.slice(0, at), tag: reference.slice(at + 1) };
}

/**
 * The bundle values for the local cluster (BUNDLE_VALUES): the local images, requests small enough for
 * a 2-core node to run the booking pods the autoscaler adds, and the API server's real address.
 */
export function localImagesValues(images: LocalImages): ValuesOverride {
  return {
    image: { ...splitReference(images.service.reference), pullPolicy: 'Never' },
    service: {
      resources: { requests: { cpu: '100m', memory: '192Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    },
    postgres: {
      image: images.postgres.reference,
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    },
    redis: { image: images.redis.reference },
    prometheus: { image: images.prometheus.reference },
    alertmanager: { image: images.alertmanager.reference },
    // Not enforced by the bridge CNI (docs/cluster.md), but what an enforcing one would need.
    networkPolicy: { apiServer: { cidrs: [`${NETWORK.nodeIp}/32`], ports: [APISERVER_PORT] } },
  };
}

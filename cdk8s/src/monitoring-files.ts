import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MONITORING_FILES } from './names.js';

/** Used while monitoring/generated/booking.rules.yml does not exist yet: no rules. */
export const FALLBACK_RULES = 'groups: []\n';
/** Used while monitoring/generated/alertmanager.yml does not exist yet: every alert goes nowhere. */
export const FALLBACK_ALERTMANAGER_CONFIG = [
  '# Placeholder: monitoring/generated/alertmanager.yml did not exist at synth time.',
  'route:',
  '  receiver: "null"',
  'receivers:',
  '  - name: "null"',
  '',
].join('\n');

export interface MonitoringFiles {
  /** Prometheus rule file (monitoring/generated/booking.rules.yml). */
  readonly rules: string;
  /** Alertmanager configuration (monitoring/generated/alertmanager.yml). */
  readonly alertmanagerConfig: string;
  /** The files that were missing and replaced by a placeholder. */
  readonly missing: string[];
}

/** Reads the files the monitoring code renders (no second copy is kept here); placeholders when absent. */
export function loadMonitoringFiles(repoRoot: string): MonitoringFiles {
  const missing: string[] = [];
  const read = (path: string, fallback: string): string => {
    try {
      return readFileSync(join(repoRoot, path), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(path);
      return fallback;
    }
  };
  return {
    rules: read(MONITORING_FILES.rules, FALLBACK_RULES),
    alertmanagerConfig: read(MONITORING_FILES.alertmanager, FALLBACK_ALERTMANAGER_CONFIG),
    missing,
  };
}

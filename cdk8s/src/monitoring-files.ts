import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  alertmanagerConfig,
  silentRouting,
  type AlertmanagerConfig,
} from '@concert-booking/monitoring/alertmanager';
import { renderAlertmanager, renderRules } from '@concert-booking/monitoring/render';
import { bookingRules } from '@concert-booking/monitoring/rules';
import { parse } from 'yaml';
import { MONITORING_FILES } from './names.js';
import type { BundleValues } from './values.js';

/** The bundle cannot be synthesized from these monitoring files; the message says what to do. */
export class MonitoringFilesError extends Error {}

export interface MonitoringFiles {
  /** Prometheus rule file (monitoring/generated/booking.rules.yml). */
  readonly rules: string;
  /** Alertmanager configuration (monitoring/generated/alertmanager.yml). */
  readonly alertmanagerConfig: string;
}

/**
 * Reads the files the monitoring code renders (no second copy is kept here). Refuses to go on without them, or
 * with an Alertmanager configuration under which every alert reaches nobody: better no charts than charts whose
 * alerts fall silent.
 */
export function loadMonitoringFiles(repoRoot: string): MonitoringFiles {
  const read = (path: string): string => {
    try {
      return readFileSync(join(repoRoot, path), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new MonitoringFilesError(
        `${path} is missing: run \`npm run monitoring:render\`, then synth again`,
      );
    }
  };
  const alertmanagerConfig = read(MONITORING_FILES.alertmanager);
  const silent = silentRouting(parse(alertmanagerConfig) as AlertmanagerConfig);
  if (silent) {
    throw new MonitoringFilesError(
      `${MONITORING_FILES.alertmanager} routes every alert to receivers that notify nobody ` +
        `(${silent.join(', ') || 'none'}): render it from monitoring/src (\`npm run monitoring:render\`)`,
    );
  }
  return { rules: read(MONITORING_FILES.rules), alertmanagerConfig };
}

/**
 * The monitoring files for `values`: the committed ones, rendered again from monitoring/src where the values
 * depart from its defaults: `monitoring.runbookBaseUrl` (absolute runbook links) and `monitoring.rules` for the
 * rules, `monitoring.controllerRoute` for Alertmanager's route to the controller.
 */
export function monitoringFilesFor(values: BundleValues, files: MonitoringFiles): MonitoringFiles {
  const { runbookBaseUrl, rules, controllerRoute } = values.monitoring;
  return {
    rules:
      runbookBaseUrl || rules
        ? renderRules(bookingRules({ ...rules, ...(runbookBaseUrl && { runbookBaseUrl }) }))
        : files.rules,
    alertmanagerConfig: controllerRoute
      ? renderAlertmanager(alertmanagerConfig({ controller: controllerRoute }))
      : files.alertmanagerConfig,
  };
}

/** What synth tells the user about the values it was given, when they leave something unsaid. */
export function monitoringWarnings(values: BundleValues): string[] {
  return values.monitoring.runbookBaseUrl
    ? []
    : [
        'monitoring.runbookBaseUrl is not set: alerts link their runbooks as repository paths ' +
          '(docs/runbooks/<Alert>.md), not URLs one can open from Slack or email; set it to where ' +
          'docs/runbooks/ is published (docs/deploy.md)',
      ];
}

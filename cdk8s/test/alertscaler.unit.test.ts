import { readFileSync } from 'node:fs';
import type { k8s } from 'cdk8s-plus-33';
import { parseAllDocuments } from 'yaml';
import { alertScalerSpecSchema, GROUP, PLURAL, alertRole } from '@concert-booking/controller/api';
import { bookingRules } from '@concert-booking/monitoring/rules';
import { buildBundle } from '../main.js';
import { CONTROLLER_RULES, SCALING_ALERT } from '../src/alertscaler.js';
import { defaultValues } from '../src/values.js';

/** A JSON Schema node, loosely: enough to walk properties in assertions. */
type Schema = { properties: Record<string, Schema>; required?: string[]; [key: string]: unknown };
type Obj = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

const manifests = buildBundle(defaultValues()).manifests();
const file = (name: string) => (manifests.get(name) ?? []) as Obj[];
const find = (name: string, kind: string) => file(name).find((o) => o.kind === kind)!;

describe('charts/00-crds: the AlertScaler CRD', () => {
  const crd = find('00-crds.k8s.yaml', 'CustomResourceDefinition') as Obj & {
    spec: {
      versions: {
        subresources: object;
        schema: { openAPIV3Schema: { properties: { spec: Schema } } };
        additionalPrinterColumns: { name: string }[];
      }[];
    };
  };
  const version = crd.spec.versions[0]!;
  const spec = version.schema.openAPIV3Schema.properties.spec;

  test('is the controller group, with the status subresource and printer columns', () => {
    expect(crd.metadata.name).toBe(`${PLURAL}.${GROUP}`);
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual(
      expect.arrayContaining(['Target', 'Min', 'Max', 'Current', 'Desired']),
    );
  });

  test('carries the zod schema as a structural schema, and the CEL rule min <= max', () => {
    expect(spec.required).toEqual(
      expect.arrayContaining(['scaleTargetRef', 'alerts', 'minReplicas', 'maxReplicas']),
    );
    expect(spec.properties.scaleUp?.properties.step?.properties.value).toMatchObject({
      type: 'integer',
      minimum: 1,
    });
    expect(spec['x-kubernetes-validations']).toEqual([
      expect.objectContaining({ rule: 'self.minReplicas <= self.maxReplicas' }),
    ]);
    const text = JSON.stringify(version.schema);
    expect(text).not.toContain('"additionalProperties":false');
    expect(text).not.toContain('$schema');
    expect(text).not.toContain(String(Number.MAX_SAFE_INTEGER));
  });
});

describe('charts/55-alertscaler', () => {
  const objects = file('55-alertscaler.k8s.yaml');

  test('has the ServiceAccount, Role, RoleBinding, Deployment, Service, PDB and the default AlertScaler', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'AlertScaler/booking-service',
      'Deployment/alertscaler',
      'PodDisruptionBudget/alertscaler',
      'Role/alertscaler',
      'RoleBinding/alertscaler',
      'Service/alertscaler',
      'ServiceAccount/alertscaler',
    ]);
  });

  test('the Role grants only the calls the controller makes, nothing cluster-wide, no secrets', () => {
    const role = find('55-alertscaler.k8s.yaml', 'Role') as Obj & { rules: unknown[] };
    expect(role.rules).toEqual(CONTROLLER_RULES);
    const text = JSON.stringify(role.rules);
    expect(text).not.toContain('"*"');
    expect(text).not.toContain('secrets');
    expect(text).not.toContain('"deployments"');
  });

  test('the Deployment runs the controller non-root with probes, resources and the webhook token file', () => {
    const deployment = find('55-alertscaler.k8s.yaml', 'Deployment') as unknown as {
      spec: k8s.DeploymentSpec;
    };
    const pod = deployment.spec.template.spec!;
    const container = pod.containers[0]!;
    expect(pod.serviceAccountName).toBe('alertscaler');
    expect(container.command).toEqual(['node', '--conditions=production', 'dist/controller/src/main.js']);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(container.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.resources?.limits).toBeDefined();
    const env = Object.fromEntries(
      (container.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]),
    );
    expect(env).toMatchObject({ PORT: '8080', NAMESPACE: 'metadata.namespace', POD_NAME: 'metadata.name' });
    const tokenPath = env.WEBHOOK_TOKEN_FILE as string;
    const mount = container.volumeMounts!.find((m) => tokenPath.startsWith(m.mountPath))!;
    const volume = pod.volumes!.find((v) => v.name === mount.name)!;
    expect(volume.secret?.items?.[0]?.path).toBe(tokenPath.slice(mount.mountPath.length + 1));
  });

  test("publishes OnSales to the booking pods' admin port with the booking service's own admin token", () => {
    type Pod = k8s.PodSpec & { containers: k8s.Container[] };
    const podOf = (name: string) =>
      (find(name, 'Deployment') as unknown as { spec: { template: { spec: Pod } } }).spec.template.spec;
    const controller = podOf('55-alertscaler.k8s.yaml');
    const env = Object.fromEntries(controller.containers[0]!.env!.map((e) => [e.name, e.value]));
    const url = new URL(env.BOOKING_ADMIN_URL!);
    const adminService = file('30-booking-service.k8s.yaml').find(
      (o) => o.kind === 'Service' && o.metadata.name === url.hostname,
    ) as unknown as { spec: k8s.ServiceSpec };
    const port = adminService.spec.ports!.find((p) => p.port === Number(url.port))!;
    const booking = podOf('30-booking-service.k8s.yaml');
    const containerPort = booking.containers[0]!.ports!.find((p) => p.name === port.targetPort)!;
    expect([containerPort.name, containerPort.containerPort]).toEqual(['admin', 9464]);
    const bookingDeployment = find('30-booking-service.k8s.yaml', 'Deployment') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    expect(adminService.spec.selector).toEqual(bookingDeployment.spec.selector.matchLabels);

    // The token file is the booking service's ADMIN_TOKEN_FILE key of the same Secret.
    const secretOf = (pod: Pod, path: string) => {
      const mount = pod.containers[0]!.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`))!;
      const secret = pod.volumes!.find((v) => v.name === mount.name)!.secret!;
      const item = secret.items!.find((i) => i.path === path.slice(mount.mountPath.length + 1))!;
      return [secret.secretName, item.key];
    };
    const bookingConfig = find('30-booking-service.k8s.yaml', 'ConfigMap') as unknown as {
      data: Record<string, string>;
    };
    expect(secretOf(controller, env.BOOKING_ADMIN_TOKEN_FILE!)).toEqual(
      secretOf(booking, bookingConfig.data.ADMIN_TOKEN_FILE!),
    );
  });

  test('Alertmanager posts to this Service, and the default AlertScaler matches the alert it routes', () => {
    const service = find('55-alertscaler.k8s.yaml', 'Service') as unknown as {
      metadata: { name: string };
      spec: k8s.ServiceSpec;
    };
    expect(service.spec.ports?.[0]?.port).toBe(8080);
    const alertmanagerYaml = readFileSync(
      new URL('../../monitoring/generated/alertmanager.yml', import.meta.url),
      'utf8',
    );
    expect(alertmanagerYaml).toContain(`url: http://${service.metadata.name}:8080/alerts`);

    const scaler = find('55-alertscaler.k8s.yaml', 'AlertScaler') as Obj & { spec: unknown };
    const spec = alertScalerSpecSchema.parse(scaler.spec);
    const rule = bookingRules()
      .groups.flatMap((g) => g.rules)
      .find((r) => 'alert' in r && r.alert === SCALING_ALERT) as { labels: Record<string, string> };
    const firedLabels = { alertname: SCALING_ALERT, namespace: defaultValues().namespace, ...rule.labels };
    expect(alertRole(spec, firedLabels)).toBe('scale');
    expect(alertRole(spec, { ...firedLabels, namespace: 'elsewhere' })).toBeUndefined();
    expect(spec).toMatchObject({
      minReplicas: defaultValues().service.replicas,
      maxReplicas: defaultValues().service.maxReplicas,
    });
  });
});

test('the committed charts/ files are what synth writes now', () => {
  const rendered = buildBundle(defaultValues()).render();
  for (const name of ['00-crds.k8s.yaml', '55-alertscaler.k8s.yaml']) {
    const committed = readFileSync(new URL(`../../charts/${name}`, import.meta.url), 'utf8');
    expect(parseAllDocuments(committed).length).toBeGreaterThan(0);
    expect(committed).toBe(rendered.get(name));
  }
});

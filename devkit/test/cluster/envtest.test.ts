import { describeWithCluster } from '../../src/cluster/envtest.js';

describeWithCluster('test cluster (etcd + kube-apiserver)', (cluster) => {
  it('is up and serves the pinned release', async () => {
    const { stdout } = await cluster().kubectl(['version', '-o', 'json']);
    const version = JSON.parse(stdout) as { serverVersion?: { gitVersion?: string; minor?: string } };
    expect(version.serverVersion?.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    expect(Number(version.serverVersion?.minor)).toBeGreaterThanOrEqual(33);
    expect(cluster().server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('lets the admin create a namespace and read it back', async () => {
    await cluster().kubectl(['create', 'namespace', 'harness-admin']);
    const { stdout } = await cluster().kubectl(['get', 'namespace', 'harness-admin', '-o', 'json']);
    const ns = JSON.parse(stdout) as { metadata: { name: string; uid: string }; status: { phase: string } };
    expect(ns.metadata.name).toBe('harness-admin');
    expect(ns.metadata.uid).toBeTruthy();
    expect(ns.status.phase).toBe('Active');
  });

  it('enforces RBAC: a ServiceAccount without a Role gets 403 listing pods, and may once granted', async () => {
    const k = cluster().kubectl;
    await k(['create', 'namespace', 'harness-rbac']);
    await k(['create', 'serviceaccount', 'nobody', '-n', 'harness-rbac']);
    const kubeconfig = await cluster().kubeconfigForServiceAccount('harness-rbac', 'nobody');

    const whoami = await k(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
    expect(whoami.stdout).toBe('system:serviceaccount:harness-rbac:nobody');

    const denied = await k(['get', 'pods', '-n', 'harness-rbac', '-v=6'], { kubeconfig, allowFailure: true });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/403 Forbidden/);
    expect(denied.stderr).toMatch(
      /User "system:serviceaccount:harness-rbac:nobody" cannot list resource "pods" .*namespace "harness-rbac"/,
    );

    await k(['create', 'role', 'pod-reader', '--verb=list', '--resource=pods', '-n', 'harness-rbac']);
    await k([
      'create',
      'rolebinding',
      'nobody-reads-pods',
      '--role=pod-reader',
      '--serviceaccount=harness-rbac:nobody',
      '-n',
      'harness-rbac',
    ]);
    // RBAC changes reach the authorizer through an informer: give it a moment.
    let allowed = await k(['get', 'pods', '-n', 'harness-rbac'], { kubeconfig, allowFailure: true });
    for (let i = 0; i < 50 && allowed.code !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      allowed = await k(['get', 'pods', '-n', 'harness-rbac'], { kubeconfig, allowFailure: true });
    }
    expect(allowed.code).toBe(0);
    // Still nothing beyond the Role: other namespaces stay forbidden.
    const elsewhere = await k(['get', 'pods', '-n', 'default'], { kubeconfig, allowFailure: true });
    expect(elsewhere.stderr).toMatch(/Forbidden/);
  });

  it("serves a Deployment's /scale subresource", async () => {
    const k = cluster().kubectl;
    await k(['create', 'namespace', 'harness-scale']);
    await k([
      'create',
      'deployment',
      'web',
      '--image=registry.invalid/web:1',
      '--replicas=1',
      '-n',
      'harness-scale',
    ]);
    const scalePath = '/apis/apps/v1/namespaces/harness-scale/deployments/web/scale';
    type Scale = {
      kind: string;
      metadata: { resourceVersion: string };
      spec: { replicas: number };
      status: { selector?: string };
    };
    const read = async (): Promise<Scale> =>
      JSON.parse((await k(['get', '--raw', scalePath])).stdout) as Scale;

    const before = await read();
    expect(before.kind).toBe('Scale');
    expect(before.spec.replicas).toBe(1);

    await k(['scale', 'deployment/web', '--replicas=3', '-n', 'harness-scale']);
    expect((await read()).spec.replicas).toBe(3);

    await k([
      'patch',
      'deployment',
      'web',
      '-n',
      'harness-scale',
      '--subresource=scale',
      '--type=merge',
      '-p',
      '{"spec":{"replicas":5}}',
    ]);
    const after = await read();
    expect(after.spec.replicas).toBe(5);
    const { stdout } = await k([
      'get',
      'deployment',
      'web',
      '-n',
      'harness-scale',
      '-o',
      'jsonpath={.spec.replicas}',
    ]);
    expect(stdout).toBe('5');

    // Optimistic concurrency on /scale: a write with a stale resourceVersion is a 409.
    const stale = JSON.stringify({ ...before, spec: { replicas: 2 } });
    const conflict = await k(['replace', '--raw', scalePath, '-f', '-'], {
      input: stale,
      allowFailure: true,
    });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/Conflict|the object has been modified/);
    expect((await read()).spec.replicas).toBe(5);
  });

  it('writes kubeconfigs that other clients can use', async () => {
    const { stdout } = await cluster().kubectl([
      'config',
      'view',
      '--raw',
      '-o',
      'jsonpath={.clusters[0].cluster.server}',
    ]);
    expect(stdout).toBe(cluster().server);
  });
});

// One test cluster for a whole mutation run (scripts/mutation.sh): Stryker runs jest once per mutant, and
// each run would otherwise start etcd and kube-apiserver again. Writes TEST_SHARED_CLUSTER=<json> to the
// file given as argument once the cluster is ready, then keeps it up until SIGTERM or SIGINT.
//   npx tsx scripts/mutation-cluster.ts /tmp/cluster.env
import { writeFileSync } from 'node:fs';
import { SHARED_CLUSTER_ENV, startTestCluster } from '../test-support/cluster.js';

const envFile = process.argv[2];
if (!envFile) throw new Error('usage: mutation-cluster.ts ENV_FILE');
const cluster = await startTestCluster();
const shared = JSON.stringify({ dir: cluster.dir, binDir: cluster.binDir, server: cluster.server });
writeFileSync(envFile, `export ${SHARED_CLUSTER_ENV}='${shared}'\n`);
// The cluster's own exit hook stops it on SIGTERM and SIGINT; until then, stay.
setInterval(() => undefined, 60_000);

/**
 * A caching reverse proxy in front of a local service, as a CDN or an ingress cache would stand in front of
 * the seat map: Debian's nginx (`apt-get install nginx-light`), run through the process harness on its own port
 * with its config, cache and temporary files in a directory of the caller's. It caches by the origin's own
 * Cache-Control (max-age, stale-while-revalidate) and Vary, one variant per Accept-Encoding value.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ProcessSpec } from './process.js';

const NGINX = '/usr/sbin/nginx';
/** The proxy's own answer, never cached nor sent on: what the harness waits for. */
export const CACHING_PROXY_READY_PATH = '/proxy-ready';

function nginxConfig(o: { dir: string; port: number; upstreamPort: number }): string {
  const file = (name: string) => path.join(o.dir, name);
  return `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 8192;
pid ${file('nginx.pid')};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${file('client-body')};
  proxy_temp_path ${file('proxy')};
  fastcgi_temp_path ${file('fastcgi')};
  uwsgi_temp_path ${file('uwsgi')};
  scgi_temp_path ${file('scgi')};
  proxy_cache_path ${file('cache')} levels=1:2 keys_zone=edge:1m max_size=64m inactive=1m use_temp_path=off;
  upstream origin {
    server 127.0.0.1:${o.upstreamPort};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${o.port} backlog=4096;
    location = ${CACHING_PROXY_READY_PATH} { return 204; }
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache edge;
      # One miss per key goes to the origin; the others wait for its answer.
      proxy_cache_lock on;
      proxy_cache_lock_timeout 5s;
      # Within the origin's stale-while-revalidate, one background request refreshes an expired entry.
      proxy_cache_background_update on;
      # The refresh carries If-None-Match: an unchanged seat map comes back as a 304.
      proxy_cache_revalidate on;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`;
}

/**
 * Writes the proxy's config into `dir` (created by the caller, removed by it; when run as root, every directory
 * above it must be open to nobody, as os.tmpdir() is) and returns how to start it:
 * `processes.start(cachingProxy({ dir, port, upstreamPort }))`, ready when it answers on `port`.
 */
export function cachingProxy(o: { dir: string; port: number; upstreamPort: number }): ProcessSpec {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is not installed (apt-get install nginx-light)`);
  const configFile = path.join(o.dir, 'nginx.conf');
  writeFileSync(configFile, nginxConfig(o));
  // Started as root, nginx's workers run as nobody: they write the cache and temporary files.
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
    chownSync(o.dir, id('-u'), id('-g'));
  }
  return {
    name: 'caching proxy (nginx)',
    command: NGINX,
    args: ['-p', o.dir, '-c', configFile, '-e', 'stderr'],
    ready: { url: `http://127.0.0.1:${o.port}${CACHING_PROXY_READY_PATH}` },
  };
}

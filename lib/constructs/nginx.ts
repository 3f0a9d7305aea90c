import { createHash } from 'node:crypto';

/** Mount path of the generated nginx configuration. */
export const NGINX_CONFIG_DIR = '/etc/morphogen-nginx';

/**
 * Directives that let the stock nginx image run as a non-root user on a
 * read-only root filesystem: every path it writes points into /tmp, an
 * emptyDir.
 */
const NON_ROOT_PREAMBLE = [
  'worker_processes 1;',
  'pid /tmp/nginx.pid;',
  'error_log /dev/stderr warn;',
  'events {',
  '  worker_connections 1024;',
  '}',
];

const TEMP_PATHS = [
  '  client_body_temp_path /tmp/client_temp;',
  '  proxy_temp_path /tmp/proxy_temp;',
  '  fastcgi_temp_path /tmp/fastcgi_temp;',
  '  uwsgi_temp_path /tmp/uwsgi_temp;',
  '  scgi_temp_path /tmp/scgi_temp;',
  '  server_tokens off;',
];

const HEALTHZ = '    location = /healthz { access_log off; default_type text/plain; return 200 "ok\\n"; }';

/** nginx.conf of the forwarder sidecar: the pod IP port proxied to the adapter's loopback port. */
export function forwarderConfig(listenPort: number, adapterPort: number, readTimeoutSeconds: number): string {
  return [
    ...NON_ROOT_PREAMBLE,
    'http {',
    ...TEMP_PATHS,
    '  access_log off;',
    '  client_max_body_size 1m;',
    '  server {',
    `    listen ${listenPort};`,
    HEALTHZ,
    '    location / {',
    `      proxy_pass http://127.0.0.1:${adapterPort};`,
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    `      proxy_read_timeout ${readTimeoutSeconds}s;`,
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** nginx.conf of code-data: static, read-only files under `root`. */
export function codeDataConfig(listenPort: number, root: string): string {
  return [
    ...NON_ROOT_PREAMBLE,
    'http {',
    ...TEMP_PATHS,
    '  include /etc/nginx/mime.types;',
    '  default_type application/octet-stream;',
    '  access_log /dev/stdout;',
    '  sendfile on;',
    '  server {',
    `    listen ${listenPort};`,
    `    root ${root};`,
    '    autoindex off;',
    HEALTHZ,
    '    location / {',
    '      limit_except GET HEAD { deny all; }',
    '      try_files $uri =404;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The command that starts nginx on the generated configuration, bypassing the image's entrypoint scripts that edit files under /etc. */
export const NGINX_COMMAND = ['nginx', '-c', `${NGINX_CONFIG_DIR}/nginx.conf`, '-g', 'daemon off;'];

/** SHA-256 of a configuration text, so a changed configuration rolls the pods that mount it. */
export function configChecksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

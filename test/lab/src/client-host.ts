import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { REPO_ROOT } from './lab-config';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Serves the vSphere-Client stand-in page (test/lab/client/) and the lab's
 * connection facts at /lab.json. A stand-in, named so in the README.
 */
export function startClientHost(port: number, labJson: () => unknown): Promise<Server> {
  const root = join(REPO_ROOT, 'test/lab/client');
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (path === '/lab.json') {
      res.writeHead(200, { 'content-type': TYPES['.json']! });
      res.end(JSON.stringify(labJson()));
      return;
    }
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port 127.0.0.1:${port} (client host page) is already in use: stop that process or set HDM_LAB_CLIENT_PORT`) : err),
    );
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

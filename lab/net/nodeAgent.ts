/**
 * The per-node stand-in for kube-proxy's own HTTP endpoints, run inside the node's network
 * namespace: the metrics server on 127.0.0.1:10249 (`/proxyMode`, `/healthz`, `/livez`,
 * `/metrics`) and the health server on 0.0.0.0:10256 (`/healthz`, `/livez`), so that
 * `curl 127.0.0.1:10249/proxyMode` on the node says which mode the rules are written in.
 *
 * Usage: node nodeAgent.js <nodeName> <proxyMode>
 */
import * as http from 'node:http';

process.stderr.on('error', () => {});
process.stdout.on('error', () => {});

function healthBody(nodeName: string, started: Date): string {
  const now = new Date();
  return JSON.stringify({ lastUpdated: started.toISOString(), currentTime: now.toISOString(), nodeEligible: true, nodeName });
}

function main(): void {
  const [nodeName = '', proxyMode = 'iptables'] = process.argv.slice(2);
  const started = new Date();
  let waiting = 2;
  const listening = (): void => {
    waiting -= 1;
    if (waiting === 0 && process.send) {
      process.send({ type: 'ready' }, undefined, undefined, () => {
        process.disconnect?.();
      });
    }
  };
  const metrics = http.createServer((request, response) => {
    switch (request.url) {
      case '/proxyMode':
        response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end(proxyMode);
        return;
      case '/healthz':
      case '/livez':
        response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end('ok');
        return;
      case '/metrics':
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(`# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds The last time proxy rules were successfully synced\n# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge\nkubeproxy_sync_proxy_rules_last_timestamp_seconds ${Math.floor(started.getTime() / 1000)}\n`);
        return;
      default:
        response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end('404 page not found\n');
    }
  });
  const health = http.createServer((request, response) => {
    if (request.url === '/healthz' || request.url === '/livez') {
      response.writeHead(200, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
      response.end(healthBody(nodeName, started));
      return;
    }
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('404 page not found\n');
  });
  for (const server of [metrics, health]) {
    server.on('error', (error) => {
      process.stderr.write(`nodeAgent: ${error.message}\n`);
      process.exit(1);
    });
  }
  metrics.listen(10249, '127.0.0.1', listening);
  health.listen(10256, '0.0.0.0', listening);
}

if (require.main === module) {
  main();
}

/**
 * The process of an "agnhost" container in the lab: a small HTTP server in the pod's network
 * namespace that says who answered and who asked, so a test (or a user) can see which backend
 * a ClusterIP connection reached and with which source address.
 *
 * GET /         → JSON {pod, namespace, podIP, nodeName, clientAddress, clientPort, path}
 * GET /hostname → the pod name (as agnhost netexec answers)
 * GET /clientip → "address:port" of the client (as agnhost netexec answers)
 *
 * Usage: node httpEcho.js <port> <namespace> <pod> <podIP> <nodeName>
 */
import * as http from 'node:http';

/** The JSON body of `GET /`. */
export interface EchoReply {
  readonly pod: string;
  readonly namespace: string;
  readonly podIP: string;
  readonly nodeName: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly path: string;
}

process.stderr.on('error', () => {});
process.stdout.on('error', () => {});

function main(): void {
  const [portText, namespace = '', pod = '', podIP = '', nodeName = ''] = process.argv.slice(2);
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write(`httpEcho: bad port ${JSON.stringify(portText)}\n`);
    process.exit(2);
  }
  const server = http.createServer((request, response) => {
    const clientAddress = (request.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const clientPort = request.socket.remotePort ?? 0;
    const path = request.url ?? '/';
    if (path === '/hostname') {
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      response.end(pod);
      return;
    }
    if (path === '/clientip') {
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      response.end(`${clientAddress}:${clientPort}`);
      return;
    }
    const reply: EchoReply = { pod, namespace, podIP, nodeName, clientAddress, clientPort, path };
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(`${JSON.stringify(reply)}\n`);
  });
  server.keepAliveTimeout = 5_000;
  server.on('error', (error) => {
    process.stderr.write(`httpEcho: ${error.message}\n`);
    process.exit(1);
  });
  server.listen(port, '0.0.0.0', () => {
    if (process.send) {
      process.send({ type: 'ready' }, undefined, undefined, () => {
        process.disconnect?.();
      });
    }
  });
}

if (require.main === module) {
  main();
}

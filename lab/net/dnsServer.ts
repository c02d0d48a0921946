/**
 * The lab's cluster DNS server: the process of the DNS pod's container (image
 * registry.k8s.io/coredns/coredns). It runs inside the pod's network namespace, answers on
 * UDP and TCP port 53 like CoreDNS's kubernetes plugin, and serves CoreDNS's /health (8080),
 * /ready (8181) and /metrics (9153). The cluster state arrives from the lab process over the
 * Node IPC channel; if that channel goes away (the lab died), it keeps answering from the last
 * state, like a real container whose kubelet stopped.
 *
 * Usage: node dnsServer.js <podIP>
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import { DNS_TTL, resolveQuestion } from './dnsRecords.js';
import type { DnsAnswer, DnsRecord, DnsView } from './dnsRecords.js';

/** Messages from the lab process. */
export type DnsServerMessage = { readonly type: 'view'; readonly view: DnsView; readonly ownAddresses: readonly string[] };

/** Messages to the lab process. */
export type DnsServerEvent = { readonly type: 'ready' };

const RCODES: Record<DnsAnswer['rcode'], number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 };
const OPCODE_MASK = 0x7800;
const COOKIE_OPTION = 10;
const EDNS_PAYLOAD_SIZE = 1232;

let view: DnsView = { zone: 'cluster.local', serial: Math.floor(Date.now() / 1000), namespaces: [], services: [] };
let ownAddresses: readonly string[] = [];
let hasView = false;
let requestCount = 0;

function logError(text: string): void {
  try {
    process.stderr.write(`[dns] ${text}\n`);
  } catch {
    // the lab may be gone; nothing to report to
  }
}

process.stderr.on('error', () => {});
process.stdout.on('error', () => {});

function toPacketAnswer(record: DnsRecord): Answer {
  switch (record.type) {
    case 'SRV':
      return { type: 'SRV', name: record.name, ttl: DNS_TTL, class: 'IN', data: record.data };
    case 'SOA':
      return { type: 'SOA', name: record.name, ttl: DNS_TTL, class: 'IN', data: record.data };
    case 'TXT':
      return { type: 'TXT', name: record.name, ttl: DNS_TTL, class: 'IN', data: record.data };
    default:
      return { type: record.type, name: record.name, ttl: DNS_TTL, class: 'IN', data: record.data };
  }
}

/** One response for one wire-format query, or undefined when the query cannot even be parsed. */
export function answerQuery(message: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return undefined;
  }
  if (query.type !== 'query') {
    return undefined;
  }
  requestCount += 1;
  const flags = query.flags ?? 0;
  const opt = (query.additionals ?? []).find((record) => record.type === 'OPT');
  const question = query.questions?.[0];
  let result: DnsAnswer;
  if ((flags & OPCODE_MASK) !== 0) {
    result = { rcode: 'NOTIMP', answers: [], authorities: [], additionals: [] };
  } else if (!question || (query.questions?.length ?? 0) !== 1) {
    result = { rcode: 'FORMERR', answers: [], authorities: [], additionals: [] };
  } else {
    result = resolveQuestion(view, question.name, question.type, ownAddresses);
  }
  const responseOpt: Answer[] = [];
  if (opt && opt.type === 'OPT') {
    // The typings only know a few option kinds; a COOKIE arrives as { code: 10, data }.
    const options = (opt.options ?? []) as unknown as { code: number; data?: Buffer }[];
    const cookie = options.find((option) => option.code === COOKIE_OPTION);
    responseOpt.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: EDNS_PAYLOAD_SIZE,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      // Echo the client cookie (its first 8 bytes), as CoreDNS does.
      options: cookie?.data ? [{ code: COOKIE_OPTION, data: cookie.data.subarray(0, 8) } as never] : [],
    });
  }
  const response: Packet = {
    type: 'response',
    id: query.id ?? 0,
    flags: (flags & (OPCODE_MASK | dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED)) | dnsPacket.AUTHORITATIVE_ANSWER | RCODES[result.rcode],
    questions: query.questions ?? [],
    answers: result.answers.map(toPacketAnswer),
    authorities: result.authorities.map(toPacketAnswer),
    additionals: [...result.additionals.map(toPacketAnswer), ...responseOpt],
  };
  let encoded = dnsPacket.encode(response);
  const limit = transport === 'tcp' ? 65535 : opt && opt.type === 'OPT' ? Math.max(512, opt.udpPayloadSize) : 512;
  if (encoded.length > limit) {
    encoded = dnsPacket.encode({
      ...response,
      flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
      answers: [],
      authorities: [],
      additionals: responseOpt,
    });
  }
  return encoded;
}

function serveUdp(onListening: () => void): void {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, remote) => {
    try {
      const response = answerQuery(message, 'udp');
      if (response) {
        socket.send(response, remote.port, remote.address);
      }
    } catch (error) {
      logError(`udp query from ${remote.address}: ${(error as Error).message}`);
    }
  });
  socket.on('error', (error) => logError(`udp: ${error.message}`));
  socket.bind(53, '0.0.0.0', onListening);
}

function serveTcp(onListening: () => void): void {
  const server = net.createServer((connection) => {
    let pending = Buffer.alloc(0);
    connection.setTimeout(10_000, () => connection.destroy());
    connection.on('error', () => connection.destroy());
    connection.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) {
          break;
        }
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        try {
          const response = answerQuery(message, 'tcp');
          if (!response) {
            connection.destroy();
            return;
          }
          const frame = Buffer.alloc(2 + response.length);
          frame.writeUInt16BE(response.length, 0);
          response.copy(frame, 2);
          connection.write(frame);
        } catch (error) {
          logError(`tcp query: ${(error as Error).message}`);
          connection.destroy();
          return;
        }
      }
    });
  });
  server.on('error', (error) => logError(`tcp: ${error.message}`));
  server.listen(53, '0.0.0.0', onListening);
}

function serveHttp(port: number, handler: (path: string) => { status: number; body: string }, onListening: () => void): void {
  const server = http.createServer((request, response) => {
    const { status, body } = handler(request.url ?? '/');
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end(body);
  });
  server.on('error', (error) => logError(`http ${port}: ${error.message}`));
  server.listen(port, '0.0.0.0', onListening);
}

function main(): void {
  const podIP = process.argv[2] ?? '';
  ownAddresses = podIP ? [podIP] : [];
  process.on('message', (message: DnsServerMessage) => {
    if (message && message.type === 'view') {
      view = message.view;
      ownAddresses = message.ownAddresses.length > 0 ? message.ownAddresses : ownAddresses;
      hasView = true;
    }
  });
  process.on('disconnect', () => {
    // The lab process is gone; keep serving the last state until killed.
  });
  let waiting = 5;
  const listening = (): void => {
    waiting -= 1;
    if (waiting === 0 && process.send) {
      const event: DnsServerEvent = { type: 'ready' };
      process.send(event, undefined, undefined, () => {});
    }
  };
  serveUdp(listening);
  serveTcp(listening);
  serveHttp(8080, (path) => (path === '/health' ? { status: 200, body: 'OK' } : { status: 404, body: '404 page not found\n' }), listening);
  serveHttp(8181, (path) => (path === '/ready' ? (hasView ? { status: 200, body: 'OK' } : { status: 503, body: 'kubernetes' }) : { status: 404, body: '404 page not found\n' }), listening);
  serveHttp(
    9153,
    (path) =>
      path === '/metrics'
        ? { status: 200, body: `# HELP coredns_dns_requests_total Counter of DNS requests made per zone, protocol and family.\n# TYPE coredns_dns_requests_total counter\ncoredns_dns_requests_total{server="dns://:53",zone="${view.zone}."} ${requestCount}\n` }
        : { status: 404, body: '404 page not found\n' },
    listening,
  );
}

if (require.main === module) {
  main();
}

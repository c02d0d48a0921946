/**
 * Command-line parsing for `kube-net-inspector` / `kubectl netinspect`. Plain and strict:
 * unknown options are usage errors (exit code 2), never guessed.
 */

export type CommandName = 'veth' | 'dig' | 'exec' | 'conntrack' | 'rules' | 'trace' | 'ipvs' | 'mode' | 'cleanup' | 'parse' | 'help' | 'version';

export interface CliOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly json: boolean;
  readonly yes: boolean;
  readonly debugNamespace?: string;
  readonly image?: string;
  readonly container?: string;
  /** `dig --type`. */
  readonly type?: string;
  /** Seconds; for `exec` the command's limit, else the debug pod's start limit. */
  readonly timeoutSeconds?: number;
  readonly verbose: boolean;
  /** `conntrack --src/--dst/--proto`. */
  readonly src?: string;
  readonly dst?: string;
  readonly proto?: string;
  /** `conntrack --usage`: count and max instead of the entries. */
  readonly usage: boolean;
  /** `conntrack --events`: stream `conntrack -E`. */
  readonly events: boolean;
  /** `conntrack --max`: entries to keep (listing) or events to show (--events). */
  readonly max?: number;
  /** `conntrack --events --duration`: seconds to stream. */
  readonly durationSeconds?: number;
  /** `trace --node`. */
  readonly node?: string;
  /** `ipvs --service`, `conntrack --service`: NAMESPACE/SERVICE. */
  readonly service?: string;
}

export interface ParsedCommand {
  readonly command: CommandName;
  /** Positional arguments after the command name (before `--`). */
  readonly args: string[];
  /** Everything after `--` (the command of `exec`). */
  readonly rest: string[];
  readonly options: CliOptions;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}

const COMMANDS: readonly CommandName[] = ['veth', 'dig', 'exec', 'conntrack', 'rules', 'trace', 'ipvs', 'mode', 'cleanup', 'parse', 'help', 'version'];
const VALUE_OPTIONS = new Set(['--kubeconfig', '--context', '--namespace-debug', '--image', '--container', '-c', '--type', '--timeout', '--src', '--dst', '--proto', '--max', '--duration', '--node', '--service']);
const FLAG_OPTIONS = new Set(['--json', '--yes', '-y', '--verbose', '-v', '--help', '-h', '--version', '--usage', '--events']);

export function parseArgs(argv: readonly string[]): ParsedCommand {
  const positional: string[] = [];
  let rest: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--') {
      rest = argv.slice(index + 1);
      break;
    }
    if (arg.startsWith('-') && arg !== '-') {
      const eq = arg.indexOf('=');
      const name = arg.startsWith('--') && eq !== -1 ? arg.slice(0, eq) : arg;
      if (VALUE_OPTIONS.has(name)) {
        let value: string | undefined;
        if (eq !== -1 && arg.startsWith('--')) {
          value = arg.slice(eq + 1);
        } else {
          value = argv[index + 1];
          index += 1;
        }
        if (value === undefined || value === '') {
          throw new UsageError(`${name} needs a value.`);
        }
        values.set(canonical(name), value);
        continue;
      }
      if (FLAG_OPTIONS.has(arg)) {
        flags.add(canonical(arg));
        continue;
      }
      throw new UsageError(`Unknown option ${JSON.stringify(arg)}.`);
    }
    positional.push(arg);
  }

  let timeoutSeconds: number | undefined;
  const timeoutText = values.get('--timeout');
  if (timeoutText !== undefined) {
    timeoutSeconds = Number(timeoutText);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 86_400) {
      throw new UsageError(`--timeout must be a number of seconds between 0 and 86400, got ${JSON.stringify(timeoutText)}.`);
    }
  }
  const max = positiveInteger(values.get('--max'), '--max', 10_000_000);
  const durationSeconds = positiveInteger(values.get('--duration'), '--duration', 86_400);
  const options: CliOptions = {
    kubeconfig: values.get('--kubeconfig'),
    context: values.get('--context'),
    json: flags.has('--json'),
    yes: flags.has('--yes'),
    debugNamespace: values.get('--namespace-debug'),
    image: values.get('--image'),
    container: values.get('--container'),
    type: values.get('--type'),
    timeoutSeconds,
    verbose: flags.has('--verbose'),
    src: values.get('--src'),
    dst: values.get('--dst'),
    proto: values.get('--proto'),
    usage: flags.has('--usage'),
    events: flags.has('--events'),
    max,
    durationSeconds,
    node: values.get('--node'),
    service: values.get('--service'),
  };

  if (flags.has('--version')) {
    return { command: 'version', args: [], rest: [], options };
  }
  if (flags.has('--help') || positional.length === 0) {
    return { command: 'help', args: positional, rest: [], options };
  }
  const [name, ...args] = positional;
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`Unknown command ${JSON.stringify(name)}.`);
  }
  const command = name as CommandName;
  checkArity(command, args, rest);
  return { command, args, rest, options };
}

function positiveInteger(text: string | undefined, name: string, limit: number): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1 || value > limit) {
    throw new UsageError(`${name} must be a whole number between 1 and ${limit}, got ${JSON.stringify(text)}.`);
  }
  return value;
}

function canonical(name: string): string {
  switch (name) {
    case '-y':
      return '--yes';
    case '-v':
      return '--verbose';
    case '-h':
      return '--help';
    case '-c':
      return '--container';
    default:
      return name;
  }
}

function checkArity(command: CommandName, args: readonly string[], rest: readonly string[]): void {
  const expect = (count: number, shape: string): void => {
    if (args.length !== count) {
      throw new UsageError(`Usage: ${shape}`);
    }
  };
  switch (command) {
    case 'veth':
      expect(1, 'veth NAMESPACE/POD');
      break;
    case 'dig':
      expect(2, 'dig NAMESPACE/POD NAME');
      break;
    case 'exec':
      expect(1, 'exec NAMESPACE/POD -- COMMAND [ARG...]');
      if (rest.length === 0) {
        throw new UsageError('Usage: exec NAMESPACE/POD -- COMMAND [ARG...] (the command goes after "--")');
      }
      break;
    case 'conntrack':
      expect(1, 'conntrack NODE [--src IP] [--dst IP] [--proto P] [--service NS/SVC] [--usage] [--events]');
      break;
    case 'rules':
      expect(1, 'rules NODE');
      break;
    case 'trace':
      expect(1, 'trace NAMESPACE/SERVICE [--node NODE]');
      break;
    case 'ipvs':
      expect(1, 'ipvs NODE [--service NAMESPACE/SERVICE]');
      break;
    case 'mode':
      expect(1, 'mode NODE');
      break;
    case 'cleanup':
      expect(0, 'cleanup');
      break;
    case 'parse':
      if (args.length < 1 || args.length > 2) {
        throw new UsageError('Usage: parse FORMAT [FILE|-]');
      }
      break;
    default:
      break;
  }
  if (command !== 'exec' && rest.length > 0) {
    throw new UsageError(`"${command}" takes nothing after "--".`);
  }
}

export function usageText(program: string): string {
  return `Usage: ${program} [options] COMMAND [ARGS]

Inspect Kubernetes pod networking from the nodes, through a short-lived privileged debug pod
(host network, host PID, the node's root at /host) that is deleted before the command exits.

Commands:
  veth NAMESPACE/POD            the pod's eth0 and its veth peer on the node, side by side
  dig NAMESPACE/POD NAME        query NAME from inside the pod's network namespace against
                                the kube-dns ClusterIP and each DNS endpoint
  exec NAMESPACE/POD -- CMD...  run CMD (with the node's tools) in the pod's network namespace;
                                exits with CMD's exit code
  mode NODE                     the node's data plane: kube-proxy's mode (iptables, nftables,
                                ipvs, none), which iptables backend holds its chains, IPVS
  rules NODE                    kube-proxy's rules of the node: iptables-save of the backend that
                                holds them, or nft list table ip kube-proxy (--json: parsed)
  trace NAMESPACE/SERVICE       the service's path through a node's rules: ClusterIP:port ->
                                service chain -> endpoints with probabilities -> DNAT -> pod,
                                compared with its EndpointSlices (--node NODE; default: a node
                                running an endpoint)
  ipvs NODE                     IPVS virtual servers and real servers mapped to pods and slices
                                (--service NAMESPACE/SERVICE for one service); says so when the
                                node is not in IPVS mode
  conntrack NODE                tracked connections (conntrack -L) with counts by state and
                                protocol; --src IP, --dst IP, --proto P filter, --service NS/SVC
                                lists those to its ClusterIP, --max N keeps N entries;
                                --usage: nf_conntrack_count/max and "table full" kernel lines;
                                --events: stream conntrack -E (--max N events, --duration S)
  cleanup                       delete every debug pod this tool created (any session)
  parse FORMAT [FILE|-]         turn saved tool output into JSON (FORMAT: ip-addr, ip-link, dig,
                                nslookup, resolv-conf, proc-cgroup, crictl-inspect, kubectl-table,
                                iptables-save, iptables-S, iptables-list, nft, conntrack,
                                conntrack-stats, ipvsadm, kernel-log)

Options:
  --kubeconfig FILE       kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  --context NAME          kubeconfig context to use (default: the current one)
  --json                  print the result as JSON on stdout
  -y, --yes               create debug pods without asking (needed when stdin is not a terminal)
  --namespace-debug NS    namespace for debug pods (default: default)
  --image IMAGE           debug pod image (default: docker.io/nicolaka/netshoot:v0.13)
  -c, --container NAME    the pod's container whose process to use (default: first running)
  --type TYPE             dig query type (A, AAAA, SRV, PTR, ...; default A)
  --timeout SECONDS       exec: the command's time limit (default 60); others: debug pod start limit
  --node NODE             trace: the node whose rules to read
  --service NS/SVC        ipvs, conntrack: one service
  --src IP, --dst IP      conntrack: original source / destination
  --proto PROTOCOL        conntrack: tcp, udp, icmp, icmpv6, sctp, dccp, gre, udplite
  --usage, --events       conntrack: table usage / live events
  --max N, --duration S   conntrack: entries kept or events shown / seconds of events (default 60)
  -v, --verbose           log what happens on stderr
  -h, --help, --version

Exit codes: 0 ok, 1 the diagnostic failed, 2 usage error; exec: the command's exit code.
`;
}

/**
 * The tutorial's manual commands, filled in with the real PID, node and addresses, for users
 * to copy. Every value from the cluster is shell-quoted, so a pasted command never runs
 * something a pod or object name smuggled in.
 */

/** One copyable command and where to run it. */
export interface ManualCommand {
  /** `workstation`: with kubectl; `node`: as root on the node (e.g. in `kubectl debug node/… -- chroot /host`). */
  readonly where: 'workstation' | 'node';
  readonly description: string;
  readonly command: string;
}

/** POSIX shell quoting: bare when only safe characters, else single-quoted. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) {
    return word;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line from words, each quoted as needed. */
export function commandLine(...words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** `kubectl debug node/<node> -it --image=<image> --profile=sysadmin -- chroot /host`. */
export function kubectlDebugNodeCommand(nodeName: string, image: string): ManualCommand {
  return {
    where: 'workstation',
    description: `Open a root shell on node ${nodeName} (the node's root filesystem at /host)`,
    command: commandLine('kubectl', 'debug', `node/${nodeName}`, '-it', `--image=${image}`, '--profile=sysadmin', '--', 'chroot', '/host'),
  };
}

/** `crictl inspect --output go-template --template '{{.info.pid}}' <id>` (on the node). */
export function crictlPidCommand(containerId: string): ManualCommand {
  return {
    where: 'node',
    description: "Find the container's PID (containerd / CRI-O)",
    command: commandLine('crictl', 'inspect', '--output', 'go-template', '--template', '{{.info.pid}}', containerId),
  };
}

/** `kubectl get pod -n <ns> <pod> -o wide`. */
export function kubectlGetPodCommand(namespace: string, name: string): ManualCommand {
  return {
    where: 'workstation',
    description: "See the pod's IP and node",
    command: commandLine('kubectl', 'get', 'pod', '-n', namespace, name, '-o', 'wide'),
  };
}

/** `nsenter -t <pid> -n <argv…>` (on the node). */
export function nsenterCommand(pid: number, argv: readonly string[], description: string): ManualCommand {
  return { where: 'node', description, command: commandLine('nsenter', '-t', String(pid), '-n', ...argv) };
}

/**
 * Pieces shared by the result → report converters: interface and PID formatting, the manual
 * commands as copyable sections. Pure (no `vscode` import), so the converters are unit tested
 * in plain Node; `t` is `vscode.l10n.t` in the extension.
 *
 * Every value that came from the cluster or a node goes into the report as a plain string;
 * the webview shows it with `textContent` only.
 */

import type { ManualCommand } from '../../diagnostics/manualCommands.js';
import type { PidInfo } from '../../diagnostics/veth.js';
import type { IpInterface } from '../../parsers/ipAddr.js';
import type { CommandsSection, KeyValueItem, ReportSection } from '../../protocol/report.js';
import type { Translate } from '../clusterNodes.js';
import { localizeCoreSentence } from './coreSentences.js';

/** Shown for a value that is not known. */
export const missing = '—';

/** `name@ifN` (or `name@link`), as `ip` prints the interface. */
export function interfaceLabel(item: IpInterface): string {
  return item.link === null ? item.name : `${item.name}@${item.link}`;
}

/** The interface's addresses as `address/prefix`, comma separated. */
export function addressList(item: IpInterface): string {
  return item.addresses.map((address) => `${address.address}/${address.prefixLength}`).join(', ');
}

/** Text of a number or string that may be null. */
export function orMissing(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? missing : String(value);
}

/** Key/value rows of one end of a link. */
export function interfaceItems(item: IpInterface, t: Translate): KeyValueItem[] {
  return [
    { key: t('Interface'), value: interfaceLabel(item), emphasis: 'strong' },
    { key: t('Index'), value: orMissing(item.index) },
    { key: t('Kind'), value: orMissing(item.kind ?? item.linkType) },
    { key: t('MAC'), value: orMissing(item.mac) },
    { key: t('MTU'), value: orMissing(item.mtu) },
    { key: t('State'), value: orMissing(item.state), ...stateEmphasis(item.state) },
    { key: t('Addresses'), value: addressList(item) || missing },
  ];
}

function stateEmphasis(state: string | null): { emphasis?: KeyValueItem['emphasis'] } {
  if (state === 'UP') {
    return { emphasis: 'good' };
  }
  if (state === 'DOWN' || state === 'LOWERLAYERDOWN') {
    return { emphasis: 'bad' };
  }
  return {};
}

/** How the container's PID was found, in words. */
export function pidMethodText(method: PidInfo['method'], t: Translate): string {
  switch (method) {
    case 'crictl':
      return t('crictl inspect on the node');
    case 'state-file':
      return t("the container runtime's state files");
    case 'cgroup-scan':
      return t('a scan of /proc/*/cgroup for the container ID');
  }
}

/** The "container process" section: PID and how it was found. */
export function pidItems(pid: PidInfo, t: Translate): KeyValueItem[] {
  return [
    { key: t('PID on the node'), value: String(pid.pid), emphasis: 'strong' },
    { key: t('Found by'), value: pidMethodText(pid.method, t) },
    { key: t('Container'), value: pid.containerName },
    { key: t('Container ID'), value: pid.containerId },
    { key: t('Runtime'), value: orMissing(pid.runtime) },
  ];
}

/**
 * The manual commands as copyable sections, one per place to run them. Each command is
 * preceded by its description as a shell comment, so a copied block pastes as is; line
 * breaks in the description (cluster text) are flattened so the comment cannot end early.
 */
export function manualCommandSections(commands: readonly ManualCommand[], nodeName: string | null, t: Translate): CommandsSection[] {
  const block = (command: ManualCommand): string => `# ${localizeCoreSentence(command.description, t).replace(/[\r\n\u2028\u2029]+/g, ' ')}\n${command.command}`;
  const sections: CommandsSection[] = [];
  const workstation = commands.filter((command) => command.where === 'workstation');
  const node = commands.filter((command) => command.where === 'node');
  if (workstation.length > 0) {
    sections.push({ kind: 'commands', heading: t('The same by hand: on your workstation (kubectl)'), commands: workstation.map(block) });
  }
  if (node.length > 0) {
    sections.push({
      kind: 'commands',
      heading:
        nodeName === null
          ? t('The same by hand: on the node, as root')
          : t('The same by hand: on node {0}, as root (in the kubectl debug shell above)', nodeName),
      commands: node.map(block),
    });
  }
  return sections;
}

/** A code section listing what could not be read, or nothing. */
export function problemSections(problems: readonly string[], t: Translate): ReportSection[] {
  if (problems.length === 0) {
    return [];
  }
  return [{ kind: 'code', heading: t('What could not be read'), text: problems.join('\n') }];
}

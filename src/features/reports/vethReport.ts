/**
 * "Show veth" result → report: both ends of the pod's link, the index match checked both
 * ways, every interface of the pod, the container's PID and the tutorial's commands.
 */

import type { VethResult } from '../../diagnostics/veth.js';
import type { IpInterface } from '../../parsers/ipAddr.js';
import type { KeyValueItem, NoticeSection, Report, ReportSection } from '../../protocol/report.js';
import { englishTranslate } from '../clusterNodes.js';
import type { Translate } from '../clusterNodes.js';
import { localizeCoreSentence } from './coreSentences.js';
import { addressList, interfaceItems, interfaceLabel, manualCommandSections, missing, orMissing, pidItems, problemSections } from './common.js';

/** The panel key of a pod's veth report (one panel per pod). */
export function vethReportKey(context: string, namespace: string, name: string): string {
  return `veth:${context}/${namespace}/${name}`;
}

/** The report of a "Show veth" result. */
export function vethReport(result: VethResult, t: Translate = englishTranslate): Report {
  const pod = result.pod;
  const podRef = `${pod.namespace}/${pod.name}`;
  const subtitle = [
    pod.nodeName === null ? undefined : t('node {0}', pod.nodeName),
    pod.podIPs.length > 0 ? t('pod IP {0}', pod.podIPs.join(', ')) : undefined,
    result.hostNetwork ? t('host network') : undefined,
  ]
    .filter((part): part is string => part !== undefined)
    .join(' · ');
  const sections = result.hostNetwork ? hostNetworkSections(result, t) : podNetworkSections(result, t);
  return { title: t('veth of {0}', podRef), ...(subtitle === '' ? {} : { subtitle }), sections };
}

function hostNetworkSections(result: VethResult, t: Translate): ReportSection[] {
  const nodeName = result.pod.nodeName;
  const sections: ReportSection[] = result.notes.map<NoticeSection>((note) => ({ kind: 'notice', level: 'info', text: localizeCoreSentence(note, t) }));
  if (sections.length === 0) {
    sections.push({
      kind: 'notice',
      level: 'info',
      text: t("This pod uses the host network (hostNetwork: true): it shares its node's network namespace and has no veth of its own."),
    });
  }
  sections.push({
    kind: 'table',
    heading: nodeName === null ? t("The node's interfaces (also the pod's)") : t("Interfaces of node {0} (also the pod's)", nodeName),
    columns: [t('Interface'), t('Index'), t('Kind'), t('State'), t('MTU'), t('MAC'), t('Master'), t('Addresses')],
    rows: result.nodeInterfaces.map((item) => [
      interfaceLabel(item),
      orMissing(item.index),
      orMissing(item.kind ?? item.linkType),
      orMissing(item.state),
      orMissing(item.mtu),
      orMissing(item.mac),
      orMissing(item.master),
      addressList(item) || missing,
    ]),
  });
  sections.push(...problemSections(result.problems, t));
  sections.push(...manualCommandSections(result.manualCommands, nodeName, t));
  return sections;
}

function podNetworkSections(result: VethResult, t: Translate): ReportSection[] {
  const nodeName = result.pod.nodeName ?? missing;
  const podSide = result.podInterface;
  const nodeSide = result.nodeInterface;
  const sections: ReportSection[] = [indexMatchNotice(result, t)];

  // The core's findings, except the pairing sentence the notice above already states.
  for (const note of result.notes) {
    if (podSide !== null && nodeSide !== null && note.includes(' is paired with ')) {
      continue;
    }
    sections.push({ kind: 'notice', level: noteLevel(note), text: localizeCoreSentence(note, t) });
  }

  if (podSide !== null) {
    sections.push({ kind: 'keyValue', heading: t("Pod side (in the pod's network namespace)"), items: interfaceItems(podSide, t) });
  }
  const nodeItems: KeyValueItem[] =
    nodeSide === null
      ? [{ key: t('Interface'), value: t('not found on node {0}', nodeName), emphasis: 'bad' }]
      : [...interfaceItems(nodeSide, t), { key: t('Master (bridge)'), value: bridgeText(result.bridge, nodeSide.master, t) }];
  const route = result.route;
  nodeItems.push({
    key: result.pod.podIP === null ? t('Route to the pod') : t('Route to {0}', result.pod.podIP),
    value: route === null ? missing : route.text || missing,
  });
  sections.push({ kind: 'keyValue', heading: t('Node side (on node {0})', nodeName), items: nodeItems });

  sections.push({
    kind: 'table',
    heading: t("Every interface in the pod's network namespace"),
    columns: [t('Interface'), t('Index'), t('Kind'), t('State'), t('MTU'), t('MAC'), t('Addresses'), t('Node end')],
    rows: result.podInterfaces.map((item) => [
      interfaceLabel(item),
      orMissing(item.index),
      orMissing(item.kind ?? item.linkType),
      orMissing(item.state),
      orMissing(item.mtu),
      orMissing(item.mac),
      addressList(item) || missing,
      nodeEnd(result, item),
    ]),
  });

  if (result.pid !== null) {
    sections.push({ kind: 'keyValue', heading: t('Container process'), items: pidItems(result.pid, t) });
  }
  sections.push(...problemSections(result.problems, t));
  sections.push(...manualCommandSections(result.manualCommands, result.pod.nodeName, t));
  return sections;
}

/** Whether the pod's `eth0@ifN` and the node's `vethX@ifM` point at each other. */
export function indexMatchNotice(result: VethResult, t: Translate): NoticeSection {
  const podSide = result.podInterface;
  const nodeSide = result.nodeInterface;
  const match = result.indexMatch;
  const nodeName = result.pod.nodeName ?? missing;
  if (podSide === null || match === null) {
    return { kind: 'notice', level: 'warning', text: t("No interface other than loopback was found in the pod's network namespace, so there is no link to check.") };
  }
  if (match.podPeerIndex === null) {
    return {
      kind: 'notice',
      level: 'warning',
      text: t("The pod's {0} does not name a peer interface, so it is not one end of a veth pair; the index match cannot be checked.", podSide.name),
    };
  }
  if (!match.forward || nodeSide === null) {
    return {
      kind: 'notice',
      level: 'error',
      text: t(
        "Index match failed: the pod's {0} points at interface index {1}, but node {2} has no interface with that index.",
        interfaceLabel(podSide),
        match.podPeerIndex,
        nodeName,
      ),
    };
  }
  if (!match.reverse) {
    return {
      kind: 'notice',
      level: 'warning',
      text: t(
        "Index match checked one way only: the pod's {0} points at node index {1} ({2}), but {3} points back at index {4}, not at the pod's index {5}.",
        interfaceLabel(podSide),
        match.podPeerIndex,
        nodeSide.name,
        interfaceLabel(nodeSide),
        orMissing(match.nodePeerIndex),
        orMissing(match.podIndex),
      ),
    };
  }
  return {
    kind: 'notice',
    level: 'info',
    text: t(
      "Index match checked both ways: the pod's {0} (index {1}) points at index {2} on node {3}, which is {4}; and {5} points back at index {1}, the pod's {6}.",
      interfaceLabel(podSide),
      orMissing(match.podIndex),
      match.podPeerIndex,
      nodeName,
      nodeSide.name,
      interfaceLabel(nodeSide),
      podSide.name,
    ),
  };
}

function bridgeText(bridge: IpInterface | null, master: string | null, t: Translate): string {
  if (bridge !== null) {
    const details = [bridge.kind ?? bridge.linkType, addressList(bridge)].filter((part) => part !== undefined && part !== '').join(', ');
    return details === '' ? bridge.name : `${bridge.name} (${details})`;
  }
  return master ?? t('none (routed directly)');
}

function nodeEnd(result: VethResult, item: IpInterface): string {
  if (item === result.podInterface) {
    return result.nodeInterface === null ? missing : interfaceLabel(result.nodeInterface);
  }
  const extra = result.extraInterfaces.find((candidate) => candidate.podInterface === item);
  return extra?.nodeInterface ? interfaceLabel(extra.nodeInterface) : missing;
}

/** The core's notes are sentences; the ones that report a mismatch are warnings. */
function noteLevel(note: string): NoticeSection['level'] {
  return /\b(differs|not at|not via|is DOWN|is LOWERLAYERDOWN|no interface with that index|may not be)\b/.test(note) ? 'warning' : 'info';
}

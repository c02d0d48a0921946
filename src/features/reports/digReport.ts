/**
 * "Dig in pod netns" result → report: the question, one row per DNS server asked (the kube-dns
 * ClusterIP, then each CoreDNS endpoint), what a failure means in plain words, the pod's
 * resolv.conf and the tutorial's commands.
 */

import type { DigOutcome, DigQuery, PodDigResult } from '../../diagnostics/dig.js';
import type { NoticeSection, Report, ReportSection } from '../../protocol/report.js';
import { englishTranslate } from '../clusterNodes.js';
import type { Translate } from '../clusterNodes.js';
import { localizeCoreSentence } from './coreSentences.js';
import { manualCommandSections, missing, pidItems, problemSections } from './common.js';

/** The panel key of a dig report (one panel per pod and name). */
export function digReportKey(context: string, namespace: string, name: string, query: string): string {
  return `dig:${context}/${namespace}/${name}/${query}`;
}

/** The report of a "Dig in pod netns" result. */
export function digReport(result: PodDigResult, t: Translate = englishTranslate): Report {
  const pod = result.pod;
  const service = result.dnsService;
  const sections: ReportSection[] = [];

  const viaService = result.queries.find((query) => query.target === 'cluster-ip');
  result.summary.forEach((line, position) => {
    // The first line is the ClusterIP's outcome; later lines are further conclusions.
    const level = position === 0 && viaService !== undefined ? outcomeLevel(viaService.outcome) : 'warning';
    sections.push({ kind: 'notice', level, text: localizeCoreSentence(line, t) });
  });

  sections.push({
    kind: 'keyValue',
    heading: t('Question'),
    items: [
      { key: t('Name'), value: result.name, emphasis: 'strong' },
      { key: t('Type'), value: result.type },
      { key: t('Asked from'), value: t("the network namespace of pod {0}/{1} on node {2}", pod.namespace, pod.name, pod.nodeName ?? missing) },
      { key: t('Cluster DNS service'), value: t('{0}/{1}, ClusterIP {2}, port {3}', service.namespace, service.name, service.clusterIP, service.port) },
      {
        key: t('DNS endpoints'),
        value:
          result.endpoints.length === 0
            ? t('none found')
            : result.endpoints.map((endpoint) => `${endpoint.address}${endpoint.podName === null ? '' : ` (${endpoint.podName})`}${endpoint.ready ? '' : ` ${t('not ready')}`}`).join(', '),
      },
    ],
  });

  sections.push({
    kind: 'table',
    heading: t('Results per server'),
    columns: [t('Server'), t('Address'), t('Status'), t('Answers'), t('Query time')],
    rows: result.queries.map((query) => [
      serverText(query, t),
      `${query.server}#${query.port}`,
      statusText(query, t),
      answersText(query),
      query.result.queryTimeMs === null ? missing : t('{0} ms', query.result.queryTimeMs),
    ]),
  });

  // What each failing endpoint's outcome means (the ClusterIP's is already the first notice).
  for (const query of result.queries) {
    if (query.target === 'endpoint' && query.outcome !== 'answer') {
      sections.push({ kind: 'notice', level: outcomeLevel(query.outcome), text: localizeCoreSentence(query.explanation, t) });
    }
  }

  if (result.resolvConfText === null) {
    sections.push({ kind: 'notice', level: 'warning', text: t("The pod's /etc/resolv.conf could not be read.") });
  } else {
    if (result.resolvConf !== null) {
      const options = Object.entries(result.resolvConf.options).map(([key, value]) => (value === true ? key : `${key}:${value}`));
      sections.push({
        kind: 'keyValue',
        heading: t("The pod's resolver"),
        items: [
          { key: t('Nameservers'), value: result.resolvConf.nameservers.join(', ') || missing },
          { key: t('Search'), value: result.resolvConf.search.join(' ') || missing },
          { key: t('Options'), value: options.join(' ') || missing },
        ],
      });
    }
    sections.push({ kind: 'code', heading: t("The pod's /etc/resolv.conf"), text: result.resolvConfText });
  }

  if (viaService !== undefined && viaService.raw.trim() !== '') {
    sections.push({ kind: 'code', heading: t('dig output from the ClusterIP {0}', viaService.server), text: viaService.raw.trim() });
  }
  sections.push({ kind: 'keyValue', heading: t('Container process'), items: pidItems(result.pid, t) });
  sections.push(...problemSections(result.problems, t));
  sections.push(...manualCommandSections(result.manualCommands, pod.nodeName, t));

  return {
    title: t('dig {0} in {1}/{2}', result.name, pod.namespace, pod.name),
    subtitle: [t('type {0}', result.type), pod.nodeName === null ? undefined : t('node {0}', pod.nodeName), t('{0} {1}', service.name, service.clusterIP)]
      .filter((part): part is string => part !== undefined)
      .join(' · '),
    sections,
  };
}

function serverText(query: DigQuery, t: Translate): string {
  if (query.target === 'cluster-ip') {
    return t('ClusterIP (kube-dns service)');
  }
  return query.endpointPod === null ? t('endpoint') : t('endpoint {0}', query.endpointPod);
}

function statusText(query: DigQuery, t: Translate): string {
  if (query.result.status !== null) {
    return query.result.status;
  }
  switch (query.outcome) {
    case 'timeout':
      return t('timeout (no reply)');
    default:
      return query.result.error ?? t('no reply');
  }
}

function answersText(query: DigQuery): string {
  if (query.result.answers.length === 0) {
    return missing;
  }
  return query.result.answers.map((record) => `${record.type} ${record.data}`).join(', ');
}

function outcomeLevel(outcome: DigOutcome): NoticeSection['level'] {
  switch (outcome) {
    case 'answer':
      return 'info';
    case 'no-data':
    case 'nxdomain':
      return 'warning';
    default:
      return 'error';
  }
}

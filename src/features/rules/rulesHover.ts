/**
 * Hover text for chains, sets and maps of a rules dump: what the chain is (table, policy,
 * rules, references) and, for kube-proxy's per-service chains, which service port or
 * endpoint it belongs to, from the services view the parsers derived. Every piece of text
 * that came from the dump is escaped: dumps carry comments anyone in the cluster can write.
 * Pure (no `vscode`); the provider turns the string into an untrusted MarkdownString.
 */
import type { KubeProxyService } from '../../parsers/kubeProxyServices.js';
import { parseServiceComment } from '../../parsers/kubeProxyServices.js';
import type { Translate } from '../clusterNodes.js';
import { escapeMarkdown } from '../markdown.js';
import type { ChainEntry, NameTarget, RulesIndex, SetEntry, TableEntry } from './rulesIndex.js';

/** The `{0}` placeholder stand-in for `vscode.l10n.t` (tests, command line). */
export const formatPlaceholders: Translate = (message, ...args) => message.replace(/\{(\d+)\}/g, (match, index: string) => (Number(index) < args.length ? String(args[Number(index)]) : match));

/** Most endpoints listed in one hover; the rest are counted. */
export const maxHoverEndpoints = 20;

/** A service port as people write it: `ns/name:port` (`ns/name` for an unnamed port). */
export function servicePortLabel(service: KubeProxyService): string {
  return service.portName === null ? service.service : `${service.service}:${service.portName}`;
}

/** `10.96.0.10:53` (`[fd00::10]:53`); the bare address without a port; null without an address. */
export function clusterAddress(service: KubeProxyService): string | null {
  if (service.clusterIP === null) {
    return null;
  }
  if (service.port === null) {
    return service.clusterIP;
  }
  return service.clusterIP.includes(':') ? `[${service.clusterIP}]:${service.port}` : `${service.clusterIP}:${service.port}`;
}

/** A rule probability as kube-proxy writes it (11 significant digits at most: `0.33333333349`, `0.5`). */
export function formatProbability(probability: number): string {
  return String(Number(probability.toPrecision(11)));
}

/** A share of new connections as a percentage (`33.3%`, `100%`). */
export function formatShare(share: number): string {
  const percent = Math.round(share * 1000) / 10;
  return `${percent}%`;
}

/** How a table is named in the UI: `nat`, `ip kube-proxy`. */
export function tableLabel(table: TableEntry | undefined): string {
  if (table === undefined) {
    return '';
  }
  return table.family === null ? table.name : `${table.family} ${table.name}`.trim();
}

/** One escaped `label: value` line (the label already translated). */
function row(label: string, value: string): string {
  return `${escapeMarkdown(label)}: ${escapeMarkdown(value)}`;
}

/** The parts of kube-proxy's nftables chain names: `endpoint-HASH-ns/name/proto/port__10.1.2.3/80`. */
const NFT_KUBE_PROXY_CHAIN = /^(service|external|local|firewall|endpoint)-[A-Z0-9]+-([^/\s]+)\/([^/\s]+)\/([a-z]+)\/([^/\s]*?)(?:__(.+))?$/;

interface NamedByChain {
  kind: string;
  service: string;
  protocol: string;
  endpoint: string | null;
}

/** What an nft kube-proxy chain's own name says (it spells out the service port and endpoint). */
function readNftChainName(name: string): NamedByChain | null {
  const match = name.length > 512 ? null : NFT_KUBE_PROXY_CHAIN.exec(name);
  if (!match) {
    return null;
  }
  const service = match[5] === '' ? `${match[2]}/${match[3]}` : `${match[2]}/${match[3]}:${match[5]}`;
  let endpoint: string | null = null;
  if (match[6] !== undefined) {
    const slash = match[6].lastIndexOf('/');
    endpoint = slash === -1 ? match[6] : `${match[6].slice(0, slash)}:${match[6].slice(slash + 1)}`;
  }
  return { kind: match[1], service, protocol: match[4], endpoint };
}

/** What kind of kube-proxy chain a name is, in words; null for other chains. */
function chainRole(name: string, t: Translate): string | null {
  if (name.startsWith('KUBE-SVC-') || name.startsWith('service-')) {
    return t('kube-proxy service chain: load-balances the service port over its endpoints');
  }
  if (name.startsWith('KUBE-SVL-') || name.startsWith('local-')) {
    return t('kube-proxy local-endpoints chain (traffic policy Local)');
  }
  if (name.startsWith('KUBE-EXT-') || name.startsWith('external-')) {
    return t('kube-proxy external chain: NodePort, external and load-balancer IP traffic');
  }
  if (name.startsWith('KUBE-FW-') || name.startsWith('firewall-')) {
    return t('kube-proxy load-balancer firewall chain (loadBalancerSourceRanges)');
  }
  if (name.startsWith('KUBE-XLB-')) {
    return t('kube-proxy external-traffic-policy Local chain (older kube-proxy)');
  }
  if (name.startsWith('KUBE-SEP-') || name.startsWith('endpoint-')) {
    return t('kube-proxy endpoint chain: DNATs to one endpoint');
  }
  return null;
}

function serviceLines(service: KubeProxyService, highlight: number | null, t: Translate): string[] {
  const lines: string[] = [];
  const protocol = service.protocol === null ? '' : ` (${service.protocol})`;
  lines.push(`**${escapeMarkdown(t('Service port'))}** ${escapeMarkdown(`${servicePortLabel(service)}${protocol}`)}`);
  const address = clusterAddress(service);
  if (address !== null) {
    lines.push(row(t('ClusterIP'), address));
  }
  if (service.externalIPs.length > 0) {
    lines.push(row(t('External and load-balancer IPs'), service.externalIPs.join(', ')));
  }
  if (service.nodePorts.length > 0) {
    lines.push(row(t('NodePorts'), service.nodePorts.join(', ')));
  }
  if (service.sessionAffinity) {
    lines.push(row(t('Session affinity'), 'ClientIP'));
  }
  if (service.svcChain !== null) {
    lines.push(row(t('Service chain'), service.svcChain));
  }
  if (service.endpoints.length === 0) {
    lines.push(escapeMarkdown(service.noEndpoints ? t('No endpoints: kube-proxy rejects this service port') : t('No endpoints in these rules')));
    return lines;
  }
  lines.push(`${escapeMarkdown(t('Endpoints ({0})', service.endpoints.length))}:`);
  const shown = service.endpoints.slice(0, maxHoverEndpoints);
  const items = shown.map((endpoint, index) => {
    const parts: string[] = [endpoint.dnatTo ?? t('(DNAT target not in this dump)')];
    if (endpoint.share !== null) {
      parts.push(t('{0} of new connections', formatShare(endpoint.share)));
    }
    if (endpoint.probability !== null) {
      parts.push(t('rule probability {0}', formatProbability(endpoint.probability)));
    }
    if (endpoint.sepChain !== null) {
      parts.push(endpoint.sepChain);
    }
    const text = escapeMarkdown(parts.join(' · '));
    return index === highlight ? `- **${text}**` : `- ${text}`;
  });
  if (service.endpoints.length > shown.length) {
    items.push(`- ${escapeMarkdown(t('… and {0} more', service.endpoints.length - shown.length))}`);
  }
  // A list needs a blank line before it and plain newlines between items.
  return [...lines, `\n${items.join('\n')}`];
}

function chainSummary(index: RulesIndex, chain: ChainEntry, t: Translate): string[] {
  const table = tableLabel(index.tables[chain.table]);
  const title = `**${escapeMarkdown(t('Chain'))}** ${escapeMarkdown(chain.name)}${table === '' ? '' : ` · ${escapeMarkdown(t('table {0}', table))}`}`;
  const facts: string[] = [];
  if (chain.policy !== null) {
    facts.push(t('policy {0}', chain.policy));
  }
  if (chain.hook !== null) {
    facts.push(chain.hook);
  }
  facts.push(chain.ruleCount === 1 ? t('1 rule') : t('{0} rules', chain.ruleCount));
  const references = index.referenceCount('chain', chain.table, chain.name);
  facts.push(references === 1 ? t('1 jump or goto to it') : t('{0} jumps or gotos to it', references));
  if (chain.definition === null) {
    facts.push(t('not declared in this dump'));
  }
  return [title, escapeMarkdown(facts.join(' · '))];
}

function setSummary(index: RulesIndex, set: SetEntry, t: Translate): string[] {
  const table = tableLabel(index.tables[set.table]);
  const kind = set.kind === 'map' ? t('Map') : t('Set');
  const references = index.referenceCount('set', set.table, set.name);
  const facts = [t('{0} elements', set.elementCount), references === 1 ? t('1 rule uses it') : t('{0} rules use it', references)];
  return [`**${escapeMarkdown(kind)}** ${escapeMarkdown(set.name)}${table === '' ? '' : ` · ${escapeMarkdown(t('table {0}', table))}`}`, escapeMarkdown(facts.join(' · '))];
}

/**
 * What kube-proxy says about a chain, from the services view, else from the chain's own
 * rules (a service comment, a DNAT target) and, in nftables mode, from its name.
 */
function kubeProxyLines(index: RulesIndex, name: string, chain: ChainEntry | null, t: Translate): string[] {
  const role = chainRole(name, t);
  if (role === null) {
    return [];
  }
  const lines = [escapeMarkdown(role)];
  const match = index.serviceOf(name);
  if (match !== null) {
    if (match.endpoint !== null) {
      const endpoint = match.service.endpoints[match.endpoint];
      const target = endpoint.dnatTo ?? chain?.dnatTo ?? null;
      lines.push(`**${escapeMarkdown(t('Endpoint'))}** ${escapeMarkdown(target ?? t('(DNAT target not in this dump)'))}`);
      if (endpoint.share !== null) {
        const share = t('{0} of new connections', formatShare(endpoint.share));
        lines.push(escapeMarkdown(endpoint.probability === null ? share : `${share} · ${t('rule probability {0}', formatProbability(endpoint.probability))}`));
      }
    }
    return [...lines, ...serviceLines(match.service, match.endpoint, t)];
  }
  // Not in the services view (a fragment of a dump, a chain listed on its own).
  const named = readNftChainName(name);
  const reference = parseServiceComment(chain?.comment ?? null);
  const servicePort = reference !== null ? (reference.portName === null ? reference.service : `${reference.service}:${reference.portName}`) : (named?.service ?? null);
  const endpoint = chain?.dnatTo ?? named?.endpoint ?? null;
  if (endpoint !== null && (name.startsWith('KUBE-SEP-') || name.startsWith('endpoint-'))) {
    lines.push(`**${escapeMarkdown(t('Endpoint'))}** ${escapeMarkdown(endpoint)}`);
  }
  if (servicePort !== null) {
    const protocol = named?.protocol ?? null;
    lines.push(`**${escapeMarkdown(t('Service port'))}** ${escapeMarkdown(protocol === null ? servicePort : `${servicePort} (${protocol})`)}`);
  }
  lines.push(escapeMarkdown(t('The service rules for this chain are not in this dump.')));
  return lines;
}

/**
 * The hover Markdown for a resolved name; null when there is nothing to say (a name that is
 * neither a chain nor a set of the dump and not one of kube-proxy's). Paragraphs are
 * separated by blank lines; all dump text is escaped.
 */
export function hoverMarkdown(index: RulesIndex, target: NameTarget, t: Translate = formatPlaceholders): string | null {
  if (target.nameKind === 'set') {
    return target.set === null ? null : setSummary(index, target.set, t).join('  \n');
  }
  const paragraphs: string[] = [];
  if (target.chain !== null) {
    paragraphs.push(chainSummary(index, target.chain, t).join('  \n'));
  } else {
    // A jump to a chain this table does not have: say where a chain of that name is, if anywhere.
    const elsewhere = index.chainsNamed(target.name).map((chain) => tableLabel(index.tables[chain.table]) || t('(the table this listing starts in)'));
    if (elsewhere.length > 0) {
      paragraphs.push(`**${escapeMarkdown(t('Chain'))}** ${escapeMarkdown(target.name)} · ${escapeMarkdown(t('not in this table; in table {0}', elsewhere.join(', ')))}`);
    }
  }
  const kubeProxy = kubeProxyLines(index, target.name, target.chain, t);
  if (kubeProxy.length > 0) {
    if (paragraphs.length === 0) {
      paragraphs.push(`**${escapeMarkdown(t('Chain'))}** ${escapeMarkdown(target.name)} · ${escapeMarkdown(t('not in this dump'))}`);
    }
    paragraphs.push(kubeProxy.join('  \n'));
  }
  return paragraphs.length === 0 ? null : paragraphs.join('\n\n');
}

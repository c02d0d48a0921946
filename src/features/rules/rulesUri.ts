/**
 * Names of the read-only rules documents (`kubenet-rules:` scheme): a path that names the
 * node and the backend, so the editor tab says which node's rules these are, and an
 * extension that selects the language. Pure (no `vscode`); node names come from the cluster
 * and are treated as hostile.
 */
import type { RulesLanguageId } from './rulesIndex.js';

/** The URI scheme of rules documents. */
export const rulesScheme = 'kubenet-rules';

/** Where the rules came from on the node. */
export type RulesBackend = 'iptables-nft' | 'iptables-legacy' | 'nftables';

/** True for a known backend name. */
export function isRulesBackend(value: unknown): value is RulesBackend {
  return value === 'iptables-nft' || value === 'iptables-legacy' || value === 'nftables';
}

/** What a rules document shows. */
export interface RulesDocumentInput {
  /** The node the dump was taken on. */
  readonly node: string;
  readonly backend: RulesBackend;
  /** The dump as the tool printed it. */
  readonly text: string;
  /**
   * What was run, for the title when the default does not fit (`nft list table ip
   * kube-proxy`); default `iptables-save (nft)`, `iptables-save (legacy)`, `nft list ruleset`.
   */
  readonly title?: string;
  /** Fetches the dump again for "Refresh"; without it the document cannot refresh itself. */
  readonly refresh?: () => Promise<string>;
}

/** The language of a backend's dump. */
export function languageOfBackend(backend: RulesBackend): RulesLanguageId {
  return backend === 'nftables' ? 'nftables' : 'iptables';
}

const defaultTitles: Readonly<Record<RulesBackend, string>> = {
  'iptables-nft': 'iptables-save (nft)',
  'iptables-legacy': 'iptables-save (legacy)',
  nftables: 'nft list ruleset',
};

/** A node name safe as one path segment: letters, digits, `.`, `_`, `-` (others become `_`), at most 253 characters. */
export function safeNodeName(node: string): string {
  const cleaned = (typeof node === 'string' ? node : '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 253);
  if (cleaned.length === 0) {
    return 'node';
  }
  // "." and ".." would be read as path steps.
  return /^\.+$/.test(cleaned) ? cleaned.replace(/\./g, '_') : cleaned;
}

/** A title safe in a file name: letters, digits, blanks, `.`, `_`, `-`, `(`, `)`; others become `_`. */
export function safeTitle(title: string): string {
  const cleaned = title.replace(/[^A-Za-z0-9 ._()-]/g, '_').replace(/\s+/g, ' ').trim().slice(0, 120);
  return cleaned.length === 0 ? 'rules' : cleaned;
}

/**
 * The path of a rules document: `/<node>/<node> <title>.<iptables|nft>`, e.g.
 * `/worker-1/worker-1 iptables-save (nft).iptables`. The same node and backend (and title)
 * always give the same path, so opening again refreshes the open document.
 */
export function rulesDocumentPath(input: Pick<RulesDocumentInput, 'node' | 'backend' | 'title'>): string {
  const node = safeNodeName(input.node);
  const title = safeTitle(input.title ?? defaultTitles[input.backend]);
  const extension = languageOfBackend(input.backend) === 'nftables' ? 'nft' : 'iptables';
  return `/${node}/${node} ${title}.${extension}`;
}

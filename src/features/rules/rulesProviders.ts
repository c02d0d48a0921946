/**
 * The editor features of the `iptables` and `nftables` languages: outline and breadcrumbs
 * (tables → chains, sets, maps), go to definition and find references of chains and sets,
 * hovers naming the kube-proxy service or endpoint behind a chain, and folding. All of them
 * read one {@link RulesIndex} per document version from the cache; the first request builds it
 * off the hot path.
 */
import * as vscode from 'vscode';

import type { Translate } from '../clusterNodes.js';
import type { RulesIndexCache } from './indexCache.js';
import { hoverMarkdown, servicePortLabel, tableLabel } from './rulesHover.js';
import type { ChainEntry, FoldingEntry, LineRange, RulesIndex, RulesLanguageId, SetEntry, Span, TableEntry } from './rulesIndex.js';

/** The language ids this feature serves. */
export const rulesLanguageIds: readonly RulesLanguageId[] = ['iptables', 'nftables'];

/** Every document in one of the two languages, whatever its scheme (file, untitled, kubenet-rules). */
export const rulesSelector: vscode.DocumentSelector = rulesLanguageIds.map((language) => ({ language }));

const t: Translate = (message, ...args) => vscode.l10n.t(message, ...args);

/** The language of a document, when it is one of ours. */
export function rulesLanguageOf(document: vscode.TextDocument): RulesLanguageId | null {
  return (rulesLanguageIds as readonly string[]).includes(document.languageId) ? (document.languageId as RulesLanguageId) : null;
}

/** The index of a document's current version; null for other languages or a superseded build. */
export async function indexOfDocument(cache: RulesIndexCache, document: vscode.TextDocument): Promise<RulesIndex | null> {
  const language = rulesLanguageOf(document);
  if (language === null) {
    return null;
  }
  return cache.get({ key: document.uri.toString(), version: document.version, language, getText: () => document.getText() });
}

function toRange(span: Span): vscode.Range {
  return new vscode.Range(span.line, span.start, span.line, span.end);
}

/** Whole lines, clamped to the document. */
function lineRange(document: vscode.TextDocument, lines: LineRange): vscode.Range {
  const last = Math.max(0, document.lineCount - 1);
  const start = Math.min(lines.start, last);
  const end = Math.min(Math.max(lines.end, start), last);
  return new vscode.Range(start, 0, end, document.lineAt(end).range.end.character);
}

/** A short description of a chain for the outline: service or endpoint, policy, rule count. */
function chainDetail(index: RulesIndex, chain: ChainEntry): string {
  const parts: string[] = [];
  const match = index.serviceOf(chain.name);
  if (match !== null) {
    const endpoint = match.endpoint === null ? null : match.service.endpoints[match.endpoint];
    parts.push(endpoint?.dnatTo ? `${servicePortLabel(match.service)} → ${endpoint.dnatTo}` : servicePortLabel(match.service));
  }
  if (chain.policy !== null) {
    parts.push(chain.policy);
  }
  parts.push(chain.ruleCount === 1 ? t('1 rule') : t('{0} rules', chain.ruleCount));
  // Outline text is plain, but keep it one line and short.
  return parts.join(' · ').replace(/[\r\n\t]/g, ' ').slice(0, 200);
}

function chainSymbol(document: vscode.TextDocument, index: RulesIndex, chain: ChainEntry): vscode.DocumentSymbol {
  let range: vscode.Range;
  let selection: vscode.Range;
  const run = chain.runs[0];
  if (index.language === 'iptables' && run !== undefined && chain.firstRule !== null) {
    // Rules are where a chain's content is: the symbol spans its first run of rules.
    range = lineRange(document, run);
    selection = toRange(chain.firstRule);
  } else if (chain.definition !== null) {
    const block = run ?? { start: chain.definition.line, end: chain.definition.line };
    range = lineRange(document, { start: Math.min(block.start, chain.definition.line), end: Math.max(block.end, chain.definition.line) });
    selection = toRange(chain.definition);
  } else {
    const line = run?.start ?? 0;
    range = lineRange(document, run ?? { start: line, end: line });
    selection = lineRange(document, { start: line, end: line });
  }
  return symbolOf(chain.name, chainDetail(index, chain), vscode.SymbolKind.Function, range, selection);
}

/** A symbol that never throws: a name is never empty and the selection always inside the range (even if the document moved on). */
function symbolOf(name: string, detail: string, kind: vscode.SymbolKind, range: vscode.Range, selection: vscode.Range): vscode.DocumentSymbol {
  return new vscode.DocumentSymbol(name.length > 0 ? name : '?', detail, kind, range, range.contains(selection) ? selection : new vscode.Range(range.start, range.start));
}

function setSymbol(document: vscode.TextDocument, set: SetEntry): vscode.DocumentSymbol {
  const range = lineRange(document, set.block);
  const selection = set.definition.end > set.definition.start ? toRange(set.definition) : lineRange(document, { start: set.block.start, end: set.block.start });
  const detail = `${set.kind} · ${set.elementCount === 1 ? t('1 element') : t('{0} elements', set.elementCount)}`;
  return symbolOf(set.name, detail, set.kind === 'map' ? vscode.SymbolKind.Struct : vscode.SymbolKind.Array, range, selection);
}

function tableSymbol(document: vscode.TextDocument, table: TableEntry, children: vscode.DocumentSymbol[]): vscode.DocumentSymbol {
  const range = lineRange(document, table.range);
  const selection = table.header !== null ? toRange(table.header) : lineRange(document, { start: table.range.start, end: table.range.start });
  const detail = table.implicit ? t('no table line in the dump') : table.family === null ? t('table') : t('{0} table', table.family);
  const symbol = symbolOf(tableLabel(table) || t('(rules)'), detail, vscode.SymbolKind.Namespace, range, selection);
  symbol.children = children;
  return symbol;
}

/** The outline: tables with their chains (and nft sets and maps) in document order. */
export function documentSymbols(document: vscode.TextDocument, index: RulesIndex): vscode.DocumentSymbol[] {
  const out: vscode.DocumentSymbol[] = [];
  for (const table of index.tables) {
    const children = [...table.chains.map((chain) => chainSymbol(document, index, chain)), ...table.sets.map((set) => setSymbol(document, set))];
    children.sort((left, right) => left.range.start.line - right.range.start.line);
    if (table.implicit && table.name === '') {
      // `nft list chain …`: no table to show, the chains stand alone.
      out.push(...children);
    } else {
      out.push(tableSymbol(document, table, children));
    }
  }
  return out;
}

function foldingKind(entry: FoldingEntry): vscode.FoldingRangeKind | undefined {
  return entry.kind === 'comment' ? vscode.FoldingRangeKind.Comment : undefined;
}

/** Registers the providers for both languages; returns their disposables. */
export function registerRulesProviders(cache: RulesIndexCache): vscode.Disposable[] {
  const withIndex = async <T>(document: vscode.TextDocument, token: vscode.CancellationToken, use: (index: RulesIndex) => T): Promise<T | undefined> => {
    const index = await indexOfDocument(cache, document);
    if (index === null || token.isCancellationRequested) {
      return undefined;
    }
    return use(index);
  };

  const symbols: vscode.DocumentSymbolProvider = {
    provideDocumentSymbols: (document, token) => withIndex(document, token, (index) => documentSymbols(document, index)),
  };

  const definitions: vscode.DefinitionProvider = {
    provideDefinition: (document, position, token) =>
      withIndex(document, token, (index): vscode.LocationLink[] | undefined => {
        const target = index.resolve(position.line, position.character, document.lineAt(position.line).text);
        const definition = target === null ? null : index.definitionOf(target);
        if (target === null || definition === null) {
          return undefined;
        }
        return [{ originSelectionRange: toRange(target.origin), targetUri: document.uri, targetRange: lineRange(document, { start: definition.line, end: definition.line }), targetSelectionRange: toRange(definition) }];
      }),
  };

  const references: vscode.ReferenceProvider = {
    provideReferences: (document, position, context, token) =>
      withIndex(document, token, (index) => {
        const target = index.resolve(position.line, position.character, document.lineAt(position.line).text);
        if (target === null) {
          return undefined;
        }
        return index.referencesOf(target, context.includeDeclaration).map((span) => new vscode.Location(document.uri, toRange(span)));
      }),
  };

  const hovers: vscode.HoverProvider = {
    provideHover: (document, position, token) =>
      withIndex(document, token, (index) => {
        const target = index.resolve(position.line, position.character, document.lineAt(position.line).text);
        const markdown = target === null ? null : hoverMarkdown(index, target, t);
        if (target === null || markdown === null) {
          return undefined;
        }
        // Dump text is escaped in hoverMarkdown; no commands, HTML or theme icons on top of that.
        const content = new vscode.MarkdownString(markdown, false);
        content.isTrusted = false;
        content.supportHtml = false;
        return new vscode.Hover(content, toRange(target.origin));
      }),
  };

  const folding: vscode.FoldingRangeProvider = {
    provideFoldingRanges: (document, _context, token) =>
      withIndex(document, token, (index) => index.foldingRanges().map((entry) => new vscode.FoldingRange(entry.start, entry.end, foldingKind(entry)))),
  };

  return [
    vscode.languages.registerDocumentSymbolProvider(rulesSelector, symbols, { label: vscode.l10n.t('Tables and chains') }),
    vscode.languages.registerDefinitionProvider(rulesSelector, definitions),
    vscode.languages.registerReferenceProvider(rulesSelector, references),
    vscode.languages.registerHoverProvider(rulesSelector, hovers),
    vscode.languages.registerFoldingRangeProvider(rulesSelector, folding),
  ];
}

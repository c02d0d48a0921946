/**
 * One rules index per open document version: built lazily on the first request that needs
 * it, shared by every provider asking for the same version, dropped when a newer version
 * asks or the document closes, and limited to the few most recently used documents.
 * Pure (no `vscode`): documents are described by a key, a version and a text getter.
 */
import type { BuildReport, RulesIndexBuilder } from './indexBuilder.js';
import type { RulesIndex, RulesLanguageId } from './rulesIndex.js';

/** What the cache needs to know about a document. */
export interface IndexedDocument {
  /** A stable key (the URI as a string). */
  readonly key: string;
  readonly version: number;
  readonly language: RulesLanguageId;
  /** Read only when a build starts. */
  getText(): string;
}

interface Entry {
  readonly version: number;
  readonly language: RulesLanguageId;
  readonly index: Promise<RulesIndex | null>;
}

/** Called once per finished build (for the log). */
export type BuildListener = (document: IndexedDocument, index: RulesIndex, build: BuildReport) => void;

/** The index cache; see the module comment. */
export class RulesIndexCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly builder: RulesIndexBuilder,
    private readonly capacity = 8,
    private readonly onBuilt?: BuildListener,
  ) {}

  /**
   * The index of this version of the document. Resolves to null when the build was
   * superseded (a newer version was asked for, or the document was dropped) before it ended.
   */
  get(document: IndexedDocument): Promise<RulesIndex | null> {
    const existing = this.entries.get(document.key);
    if (existing !== undefined && existing.version === document.version && existing.language === document.language) {
      // Most recently used goes last.
      this.entries.delete(document.key);
      this.entries.set(document.key, existing);
      return existing.index;
    }
    const text = document.getText();
    let entry: Entry | undefined;
    const superseded = (): boolean => this.entries.get(document.key) !== entry;
    let report: BuildReport | undefined;
    const index = this.builder
      .build(text, document.language, superseded, (build) => {
        report = build;
      })
      .then((built) => {
        if (built !== null && report !== undefined && !superseded()) {
          try {
            this.onBuilt?.(document, built, report);
          } catch {
            // A listener (the log) must not cost the index.
          }
        }
        return built;
      });
    entry = { version: document.version, language: document.language, index };
    this.entries.delete(document.key);
    this.entries.set(document.key, entry);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.entries.delete(oldest);
    }
    return index;
  }

  /** True when an index (finished or not) is held for this version. */
  has(key: string, version: number): boolean {
    return this.entries.get(key)?.version === version;
  }

  /** Forgets a document (closed). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.clear();
  }

  /** How many documents are held. */
  get size(): number {
    return this.entries.size;
  }
}

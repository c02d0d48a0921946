/**
 * Worker thread entry: parses a dump and builds its index off the extension host's thread,
 * then posts the plain index data back (typed-array buffers transferred, not copied).
 * Loaded by {@link RulesIndexBuilder} from the file beside it (`rulesWorker.js`).
 */
import { parentPort } from 'node:worker_threads';

import { buildRulesIndexData } from './rulesIndex.js';
import type { RulesLanguageId } from './rulesIndex.js';

/** A request to the worker. */
export interface WorkerRequest {
  readonly id: number;
  readonly text: string;
  readonly language: RulesLanguageId;
}

function isRequest(value: unknown): value is WorkerRequest {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const request = value as Record<string, unknown>;
  return typeof request.id === 'number' && typeof request.text === 'string' && (request.language === 'iptables' || request.language === 'nftables');
}

parentPort?.on('message', (message: unknown) => {
  if (!isRequest(message)) {
    return;
  }
  try {
    const data = buildRulesIndexData(message.text, message.language);
    const occurrences = data.occurrences;
    const buffers = [occurrences.lineOffsets, occurrences.line, occurrences.start, occurrences.end, occurrences.name, occurrences.table, occurrences.kind, occurrences.referenceOffsets, occurrences.referenceItems].map(
      (array) => array.buffer as ArrayBuffer,
    );
    parentPort?.postMessage({ id: message.id, data }, buffers);
  } catch (error) {
    parentPort?.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});

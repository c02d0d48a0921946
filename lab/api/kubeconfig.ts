/**
 * The lab's kubeconfig: one cluster (the CA inlined), users `lab-admin` and `lab-viewer`
 * with bearer tokens, contexts `lab` (current) and `lab-viewer`. Written as YAML whose
 * scalars are JSON-quoted, so no value can break the document.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN_USER, VIEWER_USER } from './auth';
import type { LabTokens } from './auth';

export const ADMIN_CONTEXT = 'lab';
export const VIEWER_CONTEXT = 'lab-viewer';

export function renderKubeconfig(options: { clusterName: string; server: string; caCertPem: string; tokens: LabTokens }): string {
  const q = (value: string): string => JSON.stringify(value);
  const caData = Buffer.from(options.caCertPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(options.clusterName)}`,
    '  cluster:',
    `    server: ${q(options.server)}`,
    `    certificate-authority-data: ${q(caData)}`,
    'users:',
    `- name: ${q(ADMIN_USER)}`,
    '  user:',
    `    token: ${q(options.tokens.admin)}`,
    `- name: ${q(VIEWER_USER)}`,
    '  user:',
    `    token: ${q(options.tokens.viewer)}`,
    'contexts:',
    `- name: ${q(ADMIN_CONTEXT)}`,
    '  context:',
    `    cluster: ${q(options.clusterName)}`,
    `    user: ${q(ADMIN_USER)}`,
    '    namespace: "default"',
    `- name: ${q(VIEWER_CONTEXT)}`,
    '  context:',
    `    cluster: ${q(options.clusterName)}`,
    `    user: ${q(VIEWER_USER)}`,
    '    namespace: "default"',
    `current-context: ${q(ADMIN_CONTEXT)}`,
    'preferences: {}',
    '',
  ].join('\n');
}

/** Writes the file readable by its owner only (it holds tokens), atomically. */
export function writeKubeconfig(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, content, { mode: 0o600 });
  fs.renameSync(temporary, file);
}

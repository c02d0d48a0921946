/**
 * Finding, loading and merging kubeconfig files the way kubectl does, and choosing the context
 * to show. No `vscode` import: the extension passes its settings in.
 */

import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster, Context, User } from '@kubernetes/client-node';

import { KubeconfigError } from './errors.js';

/** Where the kubeconfig paths came from. */
export type KubeconfigSource = 'setting' | 'env' | 'default';

/** The kubeconfig files to read, in merge order. */
export interface KubeconfigPaths {
  readonly paths: readonly string[];
  readonly source: KubeconfigSource;
}

/** Inputs of `resolveKubeconfigPaths`; everything explicit so it is testable. */
export interface KubeconfigPathInputs {
  /** The `kubeNet.kubeconfig` setting: one path or a list; empty means "not set". */
  readonly setting?: string | readonly string[] | undefined;
  /** The `KUBECONFIG` environment variable. */
  readonly kubeconfigEnv?: string | undefined;
  readonly homeDir: string;
  /** Directory that relative setting paths are resolved against (the workspace folder). */
  readonly baseDir?: string | undefined;
  /** `path.delimiter` of the platform; ':' on Linux and macOS. */
  readonly delimiter?: string;
}

/**
 * Decides which kubeconfig files to read: the setting wins over `KUBECONFIG`, which wins over
 * `~/.kube/config`. Both the setting entries and `KUBECONFIG` may hold several paths separated
 * by the platform delimiter; empty entries are ignored, `~` is expanded, duplicates dropped.
 */
export function resolveKubeconfigPaths(inputs: KubeconfigPathInputs): KubeconfigPaths {
  const delimiter = inputs.delimiter ?? path.delimiter;
  const settingEntries = typeof inputs.setting === 'string' ? [inputs.setting] : [...(inputs.setting ?? [])];
  const fromSetting = settingEntries.flatMap((entry) => splitList(entry, delimiter));
  if (fromSetting.length > 0) {
    return { paths: unique(fromSetting.map((entry) => absolutePath(entry, inputs))), source: 'setting' };
  }
  const fromEnv = splitList(inputs.kubeconfigEnv ?? '', delimiter);
  if (fromEnv.length > 0) {
    return { paths: unique(fromEnv.map((entry) => absolutePath(entry, { homeDir: inputs.homeDir }))), source: 'env' };
  }
  return { paths: [path.join(inputs.homeDir, '.kube', 'config')], source: 'default' };
}

function splitList(value: string, delimiter: string): string[] {
  return value
    .split(delimiter)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

function absolutePath(entry: string, inputs: { homeDir: string; baseDir?: string | undefined }): string {
  let expanded = entry;
  if (entry === '~') {
    expanded = inputs.homeDir;
  } else if (entry.startsWith('~/')) {
    expanded = path.join(inputs.homeDir, entry.slice(2));
  }
  if (path.isAbsolute(expanded)) {
    return path.normalize(expanded);
  }
  return path.resolve(inputs.baseDir ?? process.cwd(), expanded);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** The merged kubeconfig and what happened while reading it. */
export interface LoadedKubeconfig {
  /** All clusters, users and contexts, merged; `getCurrentContext()` is the files' current-context. */
  readonly config: KubeConfig;
  /** Files that were read, in order. */
  readonly files: readonly string[];
  /** Listed files that do not exist (kubectl ignores them too). */
  readonly missing: readonly string[];
  /** Files skipped or entries ignored, in words, for the log. */
  readonly warnings: readonly string[];
  /** `current-context` of the first file that sets one. */
  readonly currentContext: string | undefined;
}

/**
 * Reads and merges kubeconfig files with kubectl's rules: the first file that defines a
 * cluster, user or context name wins; the first file that sets `current-context` wins;
 * missing files are skipped. Relative certificate paths are resolved against their own file.
 *
 * @throws KubeconfigError `noConfig` when none of the files exists, `invalidConfig` when none
 *   of them could be read.
 */
export function loadKubeconfig(paths: readonly string[]): LoadedKubeconfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  const files: string[] = [];
  const missing: string[] = [];
  const warnings: string[] = [];
  let currentContext: string | undefined;

  for (const file of paths) {
    if (!isFile(file)) {
      missing.push(file);
      continue;
    }
    const single = new KubeConfig();
    try {
      single.loadFromFile(file, { onInvalidEntry: 'filter' });
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n', 1)[0] : String(error);
      warnings.push(`${file}: not a readable kubeconfig (${reason})`);
      continue;
    }
    files.push(file);
    mergeFirstWins(clusters, single.getClusters(), file, 'cluster', warnings);
    mergeFirstWins(users, single.getUsers(), file, 'user', warnings);
    mergeFirstWins(contexts, single.getContexts(), file, 'context', warnings);
    const fileCurrent = single.getCurrentContext();
    if (currentContext === undefined && typeof fileCurrent === 'string' && fileCurrent.length > 0) {
      currentContext = fileCurrent;
    }
  }

  if (files.length === 0) {
    if (missing.length === paths.length) {
      throw new KubeconfigError('noConfig', `No kubeconfig file found (looked at ${paths.join(', ')})`, paths);
    }
    throw new KubeconfigError('invalidConfig', warnings.join('; ') || 'No readable kubeconfig file', paths);
  }

  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext: currentContext ?? '',
  });
  return { config, files, missing, warnings, currentContext };
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function mergeFirstWins<T extends { readonly name: string }>(
  target: Map<string, T>,
  entries: readonly T[] | undefined,
  file: string,
  what: string,
  warnings: string[],
): void {
  for (const entry of entries ?? []) {
    if (typeof entry?.name !== 'string') {
      continue;
    }
    if (target.has(entry.name)) {
      warnings.push(`${file}: ${what} "${entry.name}" already defined by an earlier file; ignored`);
      continue;
    }
    target.set(entry.name, entry);
  }
}

/** One context of the kubeconfig, as offered in "Switch Context". */
export interface ContextSummary {
  readonly name: string;
  readonly cluster: string;
  readonly user: string;
  readonly namespace: string | undefined;
  /** The cluster's server URL, if the cluster is defined. */
  readonly server: string | undefined;
}

/** Lists the contexts of a kubeconfig, sorted by name. */
export function listContexts(config: KubeConfig): ContextSummary[] {
  return config
    .getContexts()
    .map((context) => ({
      name: context.name,
      cluster: context.cluster,
      user: context.user,
      namespace: context.namespace,
      server: config.getCluster(context.cluster)?.server,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** What the user chose in "Switch Context", remembered per workspace. */
export interface RememberedContext {
  readonly context: string;
  /** The kubeconfig's current-context when the choice was made. */
  readonly fileCurrentContext: string | undefined;
}

/**
 * The context to show: the user's remembered choice while it exists and the kubeconfig's own
 * current-context has not changed since it was made (then the file wins, like kubectl), else
 * the kubeconfig's current-context, else none.
 */
export function chooseContext(
  available: readonly string[],
  fileCurrentContext: string | undefined,
  remembered: RememberedContext | undefined,
): string | undefined {
  if (
    remembered !== undefined &&
    available.includes(remembered.context) &&
    remembered.fileCurrentContext === fileCurrentContext
  ) {
    return remembered.context;
  }
  if (fileCurrentContext !== undefined && available.includes(fileCurrentContext)) {
    return fileCurrentContext;
  }
  return undefined;
}

/**
 * A copy of `config` whose current context is `contextName`, for one cluster session.
 *
 * @throws KubeconfigError `noContext` when the context or its cluster is not defined.
 */
export function configForContext(config: KubeConfig, contextName: string): KubeConfig {
  const context = config.getContextObject(contextName);
  if (context === null) {
    throw new KubeconfigError('noContext', `Context "${contextName}" is not defined in the kubeconfig`);
  }
  if (config.getCluster(context.cluster) === null) {
    throw new KubeconfigError('noContext', `Context "${contextName}" names cluster "${context.cluster}", which is not defined`);
  }
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: config.getClusters(),
    users: config.getUsers(),
    contexts: config.getContexts(),
    currentContext: contextName,
  });
  return copy;
}

/**
 * A fingerprint of what a session for `contextName` depends on (its context, cluster and
 * user entries), to tell whether a kubeconfig change needs a restart.
 */
export function contextFingerprint(config: KubeConfig, contextName: string | undefined): string {
  if (contextName === undefined) {
    return '';
  }
  const context = config.getContextObject(contextName);
  if (context === null) {
    return `missing:${contextName}`;
  }
  return JSON.stringify([context, config.getCluster(context.cluster), config.getUser(context.user)]);
}

/** The namespace of the current context, or `default`. */
export function contextNamespace(config: KubeConfig): string {
  const namespace = config.getContextObject(config.getCurrentContext())?.namespace;
  return typeof namespace === 'string' && namespace.length > 0 ? namespace : 'default';
}

/**
 * When the current user's credential stops being valid, if that can be read locally: the `exp`
 * claim of a JWT bearer token, or the `notAfter` of a client certificate. Never throws.
 */
export function credentialExpiry(config: KubeConfig): Date | undefined {
  const user = config.getCurrentUser();
  if (user === null) {
    return undefined;
  }
  const fromToken = typeof user.token === 'string' ? jwtExpiry(user.token) : undefined;
  if (fromToken !== undefined) {
    return fromToken;
  }
  return certificateExpiry(user);
}

/** The `exp` claim of a JWT, or undefined for any other token. */
export function jwtExpiry(token: string): Date | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) {
    return undefined;
  }
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
    const exp = typeof payload === 'object' && payload !== null ? (payload as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

function certificateExpiry(user: User): Date | undefined {
  try {
    let pem: Buffer | undefined;
    if (typeof user.certData === 'string' && user.certData.length > 0) {
      pem = Buffer.from(user.certData, 'base64');
    } else if (typeof user.certFile === 'string' && user.certFile.length > 0) {
      pem = fs.readFileSync(user.certFile);
    }
    if (pem === undefined) {
      return undefined;
    }
    const validTo = new Date(new X509Certificate(pem).validTo);
    return Number.isNaN(validTo.getTime()) ? undefined : validTo;
  } catch {
    return undefined;
  }
}

/**
 * Every command id of the extension, in one place. Titles, categories and menus are in
 * package.json; ids must match it (a unit test checks both ways).
 */
export const commandIds = {
  refresh: 'kubeNet.refresh',
  switchContext: 'kubeNet.switchContext',
  retry: 'kubeNet.retry',
  copyPodIp: 'kubeNet.copyPodIp',
  copyClusterIp: 'kubeNet.copyClusterIp',
  showLog: 'kubeNet.showLog',
  showVeth: 'kubeNet.showVeth',
  digInPod: 'kubeNet.digInPod',
  runInPodNetns: 'kubeNet.runInPodNetns',
  openPodNetnsTerminal: 'kubeNet.openPodNetnsTerminal',
  removeDebugPods: 'kubeNet.removeDebugPods',
  refreshRules: 'kubeNet.refreshRules',
  showDataPlane: 'kubeNet.showDataPlane',
  showConntrack: 'kubeNet.showConntrack',
  streamConntrackEvents: 'kubeNet.streamConntrackEvents',
  stopConntrackEvents: 'kubeNet.stopConntrackEvents',
  raiseConntrackMax: 'kubeNet.raiseConntrackMax',
  showRules: 'kubeNet.showRules',
  traceService: 'kubeNet.traceService',
  showKubeServicesForService: 'kubeNet.showKubeServicesForService',
  ipvsBackends: 'kubeNet.ipvsBackends',
  openWalkthrough: 'kubeNet.openWalkthrough',
} as const;

/** One of the command ids. */
export type CommandId = (typeof commandIds)[keyof typeof commandIds];

/** View and container ids contributed in package.json. */
export const viewIds = {
  container: 'kubeNet',
  cluster: 'kubeNet.cluster',
} as const;

/** Walkthrough ids contributed in package.json (`contributes.walkthroughs`). */
export const walkthroughIds = {
  tutorial: 'kubeNet.tutorial',
} as const;

/** Webview panel view types. */
export const webviewTypes = {
  report: 'kubeNet.report',
  conntrack: 'kubeNet.conntrack',
} as const;

/** Context keys set with `setContext`, used in `when` clauses of package.json. */
export const contextKeys = {
  /** `loading` | `noConfig` | `invalidConfig` | `noContext` | `connecting` | `ready` | `error` */
  state: 'kubeNet.state',
  /** True when the kubeconfig has more than one context. */
  hasManyContexts: 'kubeNet.hasManyContexts',
  /** True while this window has at least one debug pod alive. */
  hasDebugPods: 'kubeNet.hasDebugPods',
  /** True while a conntrack event stream of this window runs. */
  streamingConntrack: 'kubeNet.streamingConntrack',
} as const;

/** Status bar item ids. */
export const statusBarIds = {
  debugPods: 'kubeNet.debugPods',
} as const;

import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubectlTable } from '../../../src/parsers/kubectlTable';
import { parseKubectlTable } from '../../../src/parsers/kubectlTable';
import { assertExpectationsMatchFiles, assertReadOrExplained, assertWellFormed, corpusFiles, problemLines } from './corpusFiles';

function row(table: KubectlTable, name: string): Record<string, string | null> {
  const found = table.rows.find((item) => item.fields.NAME === name);
  assert.ok(found, `row ${name}`);
  return found.fields;
}

const expectations: Record<string, (tables: KubectlTable[], problems: number[]) => void> = {
  'aks-engine1912-azure-get-pods-o-wide-nominated-node-only.txt': ([table], problems) => {
    assert.deepEqual(table.columns, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE']);
    assert.equal(table.rows.length, 1);
    const fields = row(table, 'mongo-client');
    assert.equal(fields.IP, '10.244.2.6');
    assert.equal(fields.NODE, 'k8s-agentpool1-26096251-vmss000000');
    assert.equal(fields['NOMINATED NODE'], null);
    assert.deepEqual(problems, []);
  },
  'inquisitivefrog-1.28-get-pods-A-o-wide-restarts-ago-pending.txt': ([table], problems) => {
    assert.equal(table.rows.length, 7);
    assert.equal(row(table, 'etcd-k8s-controller-01').RESTARTS, '1 (127m ago)');
    assert.equal(row(table, 'etcd-k8s-controller-01').IP, '192.168.1.105');
    assert.equal(row(table, 'coredns-5dd5756b68-2zrhr').IP, null);
    assert.equal(row(table, 'coredns-5dd5756b68-2zrhr').STATUS, 'Pending');
    assert.equal(row(table, 'kube-proxy-p4jmn')['READINESS GATES'], null);
    assert.deepEqual(problems, []);
  },
  'inquisitivefrog-1.28-get-svc-all-namespaces.txt': ([table], problems) => {
    assert.equal(table.rows.length, 7);
    assert.equal(row(table, 'kube-dns')['CLUSTER-IP'], '10.96.0.10');
    assert.equal(row(table, 'kube-dns')['PORT(S)'], '53/UDP,53/TCP,9153/TCP');
    assert.equal(row(table, 'kubernetes-dashboard-kong-proxy').NAMESPACE, 'kubernetes-dashboard');
    assert.deepEqual(problems, []);
  },
  'k8s12003-v0.21-get-services-legacy-labels-selector-columns.txt': ([table], problems) => {
    assert.equal(row(table, 'kube-ui')['IP(S)'], '10.0.0.193');
    assert.equal(row(table, 'kubernetes').SELECTOR, null);
    assert.equal(row(table, 'kubernetes').LABELS, 'component=apiserver,provider=kubernetes');
    assert.deepEqual(problems, []);
  },
  'k8s61005-1.9-get-services.txt': ([table], problems) => {
    assert.equal(row(table, 'nw-service')['CLUSTER-IP'], '10.32.0.43');
    assert.equal(row(table, 'kubernetes')['PORT(S)'], '443/TCP');
    assert.deepEqual(problems, []);
  },
  'ovn-kubernetes2829-openshift-get-pods-owide.txt': ([table], problems) => {
    assert.equal(row(table, 'sctpserver').IP, '10.131.0.27');
    assert.equal(row(table, 'sctpclient').NODE, 'asood-2231-rxpwk-worker-qc5p5');
    assert.deepEqual(problems, []);
  },
  'reinvent2018-net410-eks-get-pods-wide-A-grep-headerless.txt': ([table], problems) => {
    assert.deepEqual(table.columns, []);
    assert.equal(table.rows.length, 4);
    assert.deepEqual(table.rows[0].cells, ['kube-system', 'kube-dns-5fbcb4d67b-hr4vr', '3/3', 'Running', '0', '18h', '100.65.129.4', 'ip-10-1-2-179.us-west-2.compute.internal']);
    assert.deepEqual(problems, [1], 'the missing header is reported once');
  },
};

describe('parseKubectlTable on the corpus', () => {
  test('every expectation names a corpus file', () => {
    assertExpectationsMatchFiles('kubectl', Object.keys(expectations));
  });
  for (const entry of corpusFiles('kubectl')) {
    test(entry.name, () => {
      const result = parseKubectlTable(entry.body);
      assertWellFormed(result, entry.body);
      assertReadOrExplained(result.value.some((table) => table.rows.length > 0), result);
      for (const table of result.value) {
        for (const item of table.rows) {
          if (table.columns.length > 0) {
            assert.equal(item.cells.length, table.columns.length);
          }
        }
      }
      expectations[entry.name]?.(result.value, problemLines(result));
    });
  }
});

describe('parseKubectlTable edge cases', () => {
  test('two tables separated by a blank line; an error line is a problem', () => {
    const text = 'NAME    READY   STATUS\nweb-1   1/1     Running\n\nNAME         TYPE        CLUSTER-IP\nkubernetes   ClusterIP   10.96.0.1\nError from server (Forbidden): secrets is forbidden\n';
    const result = parseKubectlTable(text);
    assert.equal(result.value.length, 2);
    assert.equal(result.value[1].rows[0].fields['CLUSTER-IP'], '10.96.0.1');
    assert.deepEqual(problemLines(result), [6]);
  });
});

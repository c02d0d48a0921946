/**
 * Label and field selectors with the syntax of k8s.io/apimachinery's `labels.Parse` and
 * `fields.ParseSelector`. Parsing fails with the API's 400 BadRequest.
 */
import type { CoreEvent, KubeObject, Labels, Pod } from './objects';
import type { ResourceInfo } from './resources';
import { badRequest } from './status';

export type LabelOperator = 'exists' | 'notexists' | 'equals' | 'notequals' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export type LabelSelector = readonly LabelRequirement[];

const KEY_PATTERN = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_PATTERN = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

class Lexer {
  private position = 0;
  constructor(private readonly text: string) {}

  private skipSpace(): void {
    while (this.position < this.text.length && /\s/.test(this.text[this.position])) {
      this.position++;
    }
  }

  peek(): string {
    const saved = this.position;
    const token = this.next();
    this.position = saved;
    return token;
  }

  /** Tokens: identifiers, `(`, `)`, `,`, `=`, `==`, `!=`, `!`, `>`, `<`, or '' at the end. */
  next(): string {
    this.skipSpace();
    if (this.position >= this.text.length) {
      return '';
    }
    const rest = this.text.slice(this.position);
    for (const symbol of ['==', '!=', '(', ')', ',', '=', '!', '>', '<']) {
      if (rest.startsWith(symbol)) {
        this.position += symbol.length;
        return symbol;
      }
    }
    const match = /^[^\s()!=,<>]+/.exec(rest);
    const token = match === null ? rest[0] : match[0];
    this.position += token.length;
    return token;
  }
}

function isIdentifier(token: string): boolean {
  return token !== '' && !['==', '!=', '(', ')', ',', '=', '!', '>', '<'].includes(token);
}

function requirementError(found: string, expected: string): never {
  throw badRequest(`unable to parse requirement: found '${found}', expected: ${expected}`);
}

function checkKey(key: string): void {
  if (key.length > 317 || !KEY_PATTERN.test(key)) {
    throw badRequest(`unable to parse requirement: <nil>: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`);
  }
}

function checkValue(value: string): void {
  if (value.length > 63 || !VALUE_PATTERN.test(value)) {
    throw badRequest(`unable to parse requirement: values[0][${value}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`);
  }
}

/** Parses a label selector string; the empty string selects everything. */
export function parseLabelSelector(text: string): LabelSelector {
  const lexer = new Lexer(text);
  const requirements: LabelRequirement[] = [];
  if (lexer.peek() === '') {
    return requirements;
  }
  for (;;) {
    let token = lexer.next();
    if (token === '!') {
      const key = lexer.next();
      if (!isIdentifier(key)) {
        requirementError(key, 'identifier');
      }
      checkKey(key);
      requirements.push({ key, operator: 'notexists', values: [] });
    } else {
      if (!isIdentifier(token)) {
        requirementError(token, 'identifier');
      }
      const key = token;
      checkKey(key);
      const operator = lexer.peek();
      if (operator === ',' || operator === '') {
        requirements.push({ key, operator: 'exists', values: [] });
      } else {
        lexer.next();
        if (operator === '=' || operator === '==' || operator === '!=') {
          const valueToken = lexer.peek();
          const value = isIdentifier(valueToken) ? lexer.next() : '';
          checkValue(value);
          requirements.push({ key, operator: operator === '!=' ? 'notequals' : 'equals', values: [value] });
        } else if (operator === '>' || operator === '<') {
          const value = lexer.next();
          if (!/^-?\d+$/.test(value)) {
            throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
          }
          requirements.push({ key, operator: operator === '>' ? 'gt' : 'lt', values: [value] });
        } else if (operator === 'in' || operator === 'notin') {
          if (lexer.next() !== '(') {
            requirementError(lexer.peek(), "'('");
          }
          const values: string[] = [];
          for (;;) {
            const valueToken = lexer.next();
            if (valueToken === ')') {
              break;
            }
            if (valueToken === ',') {
              continue;
            }
            if (!isIdentifier(valueToken)) {
              requirementError(valueToken, "',' or ')'");
            }
            checkValue(valueToken);
            values.push(valueToken);
          }
          requirements.push({ key, operator, values });
        } else {
          requirementError(operator, "'=', '!=', '==', 'in', notin'");
        }
      }
    }
    token = lexer.next();
    if (token === '') {
      return requirements;
    }
    if (token !== ',') {
      requirementError(token, "','");
    }
  }
}

export function matchesLabels(selector: LabelSelector, labels: Labels | undefined): boolean {
  for (const requirement of selector) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, requirement.key);
    const value = has ? labels[requirement.key] : undefined;
    switch (requirement.operator) {
      case 'exists':
        if (!has) {
          return false;
        }
        break;
      case 'notexists':
        if (has) {
          return false;
        }
        break;
      case 'equals':
        if (value !== requirement.values[0]) {
          return false;
        }
        break;
      case 'notequals':
        if (value === requirement.values[0]) {
          return false;
        }
        break;
      case 'in':
        if (value === undefined || !requirement.values.includes(value)) {
          return false;
        }
        break;
      case 'notin':
        if (value !== undefined && requirement.values.includes(value)) {
          return false;
        }
        break;
      case 'gt':
      case 'lt': {
        if (value === undefined || !/^-?\d+$/.test(value)) {
          return false;
        }
        const number = Number(value);
        const bound = Number(requirement.values[0]);
        if (requirement.operator === 'gt' ? !(number > bound) : !(number < bound)) {
          return false;
        }
        break;
      }
    }
  }
  return true;
}

/** A map-based selector (`spec.selector` of a Service): every key must equal. */
export function matchesSelectorMap(selector: Labels, labels: Labels | undefined): boolean {
  for (const [key, value] of Object.entries(selector)) {
    if (labels?.[key] !== value) {
      return false;
    }
  }
  return true;
}

export interface FieldRequirement {
  readonly field: string;
  readonly operator: 'equals' | 'notequals';
  readonly value: string;
}

export type FieldSelector = readonly FieldRequirement[];

/** Splits on unescaped separators; `\,` `\=` `\\` are escapes as in fields.ParseSelector. */
function splitEscaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && i + 1 < text.length) {
      current += char + text[i + 1];
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeField(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** Parses a field selector and checks its labels against what the resource supports. */
export function parseFieldSelector(text: string, resource: ResourceInfo): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (text.trim() === '') {
    return requirements;
  }
  for (const part of splitEscaped(text, ',')) {
    let operator: FieldRequirement['operator'] | undefined;
    let field = '';
    let value = '';
    const notEquals = part.indexOf('!=');
    const doubleEquals = part.indexOf('==');
    const singleEquals = part.indexOf('=');
    if (notEquals >= 0 && (singleEquals < 0 || notEquals < singleEquals)) {
      operator = 'notequals';
      field = part.slice(0, notEquals);
      value = part.slice(notEquals + 2);
    } else if (doubleEquals >= 0 && doubleEquals === singleEquals) {
      operator = 'equals';
      field = part.slice(0, doubleEquals);
      value = part.slice(doubleEquals + 2);
    } else if (singleEquals >= 0) {
      operator = 'equals';
      field = part.slice(0, singleEquals);
      value = part.slice(singleEquals + 1);
    }
    if (operator === undefined) {
      throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    }
    field = field.trim();
    if (!resource.fieldLabels.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    requirements.push({ field, operator, value: unescapeField(value) });
  }
  return requirements;
}

/** The value of a field-selector label on a stored object (the API's `*ToSelectableFields`). */
export function fieldValue(resource: ResourceInfo, object: KubeObject, field: string): string {
  switch (field) {
    case 'metadata.name':
      return object.metadata.name ?? '';
    case 'metadata.namespace':
      return object.metadata.namespace ?? '';
  }
  if (resource.name === 'pods') {
    const pod = object as Pod;
    switch (field) {
      case 'spec.nodeName':
        return pod.spec.nodeName ?? '';
      case 'spec.restartPolicy':
        return String(pod.spec.restartPolicy ?? '');
      case 'spec.schedulerName':
        return String(pod.spec.schedulerName ?? '');
      case 'spec.serviceAccountName':
        return String(pod.spec.serviceAccountName ?? '');
      case 'spec.hostNetwork':
        return pod.spec.hostNetwork === true ? 'true' : 'false';
      case 'status.phase':
        return pod.status?.phase ?? '';
      case 'status.podIP':
      case 'status.podIPs':
        return pod.status?.podIP ?? '';
      case 'status.nominatedNodeName':
        return pod.status?.nominatedNodeName ?? '';
    }
  }
  if (resource.name === 'events') {
    const event = object as CoreEvent;
    if (field.startsWith('involvedObject.')) {
      const key = field.slice('involvedObject.'.length) as keyof CoreEvent['involvedObject'];
      return String(event.involvedObject?.[key] ?? '');
    }
    switch (field) {
      case 'reason':
        return event.reason ?? '';
      case 'reportingComponent':
        return event.reportingComponent ?? '';
      case 'source':
        return event.source?.component ?? '';
      case 'type':
        return event.type ?? '';
    }
  }
  const spec = object.spec as Record<string, unknown> | undefined;
  const status = object.status as Record<string, unknown> | undefined;
  switch (field) {
    case 'spec.clusterIP':
      return String(spec?.clusterIP ?? '');
    case 'spec.type':
      return String(spec?.type ?? '');
    case 'spec.unschedulable':
      return spec?.unschedulable === true ? 'true' : 'false';
    case 'status.phase':
      return String(status?.phase ?? '');
    case 'addressType':
      return String(object.addressType ?? '');
  }
  return '';
}

export function matchesFields(resource: ResourceInfo, selector: FieldSelector, object: KubeObject): boolean {
  for (const requirement of selector) {
    const value = fieldValue(resource, object, requirement.field);
    if (requirement.operator === 'equals' ? value !== requirement.value : value === requirement.value) {
      return false;
    }
  }
  return true;
}

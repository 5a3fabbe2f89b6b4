import { DeniedError, fail } from './errors.ts';
import { isSystemTopic, systemTopicKind, validateGroupName, validateTopicName } from './limits.ts';

export type TopicType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION' | 'MIXED';
export const topicTypes: readonly TopicType[] = ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'MIXED'];

export interface TopicConfig {
  name: string;
  queues: number;
  type: TopicType;
}

export type RetryPolicyKind = 'customized' | 'exponential';

export interface GroupConfig {
  name: string;
  /** consumeMessageOrderly: deliver each message group in order. */
  fifo: boolean;
  /** Deliveries before a message moves to %DLQ%<group> (RocketMQ: retryMaxTimes 16 + 1). */
  maxAttempts: number;
  retryPolicy: RetryPolicyKind;
}

export interface MetadataDocument {
  topics: TopicConfig[];
  groups: GroupConfig[];
}

export const dlqTopicOf = (group: string): string => `%DLQ%${group}`;
export const queueCountMax = 256;

/** Topics and consumer groups. Not auto-created: an unknown topic is TOPIC_NOT_FOUND (DLQ topics excepted). */
export class Metadata {
  private readonly topics = new Map<string, TopicConfig>();
  private readonly groups = new Map<string, GroupConfig>();

  constructor(private readonly onChange: (doc: MetadataDocument) => void = () => {}) {}

  load(doc: MetadataDocument): void {
    for (const t of doc.topics) this.topics.set(t.name, t);
    for (const g of doc.groups) this.groups.set(g.name, g);
  }

  toDocument(): MetadataDocument {
    return { topics: [...this.topics.values()], groups: [...this.groups.values()] };
  }

  topic(name: string): TopicConfig | undefined {
    return this.topics.get(name);
  }

  group(name: string): GroupConfig | undefined {
    return this.groups.get(name);
  }

  listTopics(): TopicConfig[] {
    return [...this.topics.values()];
  }

  listGroups(): GroupConfig[] {
    return [...this.groups.values()];
  }

  /** Creates or updates a topic. Queue count may grow but not shrink (stored messages live in every queue). */
  upsertTopic(input: { name: string; queues?: number; type?: string }): TopicConfig {
    const name = validateTopicName(input.name);
    refuseSystemTopic(name, 'created');
    const queues = input.queues ?? 4;
    if (!Number.isInteger(queues) || queues < 1 || queues > queueCountMax) {
      fail('BAD_REQUEST', `queues must be an integer from 1 to ${queueCountMax}, got ${input.queues}`);
    }
    const type = String(input.type ?? 'NORMAL').toUpperCase() as TopicType;
    if (!topicTypes.includes(type)) fail('BAD_REQUEST', `type must be one of ${topicTypes.join(', ')}, got ${type}`);
    const existing = this.topics.get(name);
    if (existing && queues < existing.queues) {
      fail('BAD_REQUEST', `topic ${name} has ${existing.queues} queues; the count cannot shrink to ${queues}`);
    }
    const topic = { name, queues, type };
    this.topics.set(name, topic);
    this.onChange(this.toDocument());
    return topic;
  }

  deleteTopic(name: string): boolean {
    if (this.topics.has(name)) refuseSystemTopic(name, 'deleted');
    const deleted = this.topics.delete(name);
    if (deleted) this.onChange(this.toDocument());
    return deleted;
  }

  upsertGroup(input: { name: string; fifo?: boolean; maxAttempts?: number; retryPolicy?: string }): GroupConfig {
    const name = validateGroupName(input.name);
    const maxAttempts = input.maxAttempts ?? 17;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000) {
      fail('BAD_REQUEST', `maxAttempts must be an integer from 1 to 1000, got ${input.maxAttempts}`);
    }
    const retryPolicy = (input.retryPolicy ?? 'customized') as RetryPolicyKind;
    if (retryPolicy !== 'customized' && retryPolicy !== 'exponential') {
      fail('BAD_REQUEST', `retryPolicy must be customized or exponential, got ${input.retryPolicy}`);
    }
    if (input.fifo !== undefined && typeof input.fifo !== 'boolean') {
      fail('BAD_REQUEST', `fifo must be true or false, got ${JSON.stringify(input.fifo)}`);
    }
    const group = { name, fifo: input.fifo ?? false, maxAttempts, retryPolicy };
    this.groups.set(name, group);
    this.ensureDlqTopic(name);
    this.onChange(this.toDocument());
    return group;
  }

  /** The group's dead-letter topic exists as soon as the group does, so it can be consumed like any topic. */
  ensureDlqTopic(group: string): TopicConfig {
    const name = dlqTopicOf(group);
    let topic = this.topics.get(name);
    if (!topic) {
      topic = { name, queues: 1, type: 'MIXED' };
      this.topics.set(name, topic);
      this.onChange(this.toDocument());
    }
    return topic;
  }
}

function refuseSystemTopic(name: string, verb: 'created' | 'deleted'): void {
  if (!isSystemTopic(name)) return;
  throw new DeniedError(
    'FORBIDDEN',
    `topic ${name} is a system topic (${systemTopicKind(name)}) and cannot be ${verb} by hand ` +
      '(admin API or config): the broker manages it; use a topic name that does not start with %',
    undefined,
    `topic:${name}`,
  );
}

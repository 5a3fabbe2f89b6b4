import { describe, expect, test } from 'vitest';
import { type ProcessControl, ProcessFaults } from './index.ts';

/** A target that records what it was asked to do; restarting `broken` nodes fails. */
function fakeTarget(broken: string[] = []): ProcessControl & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async kill(node, signal) {
      calls.push(`${signal} ${node}`);
    },
    async restart(node) {
      calls.push(`restart ${node}`);
      if (broken.includes(node)) throw new Error(`${node} does not start`);
    },
    nodes: () => ['broker-1', 'broker-2'],
  };
}

describe('process faults', () => {
  test('kill: SIGKILL, restart at heal; pause: SIGSTOP, SIGCONT at heal; restart: SIGTERM + restart', async () => {
    const target = fakeTarget();
    const faults = new ProcessFaults(target);
    await faults.inject({ kind: 'kill', target: 'broker-1' });
    await faults.heal({ kind: 'kill', target: 'broker-1' });
    await faults.inject({ kind: 'pause', target: 'broker-2' });
    await faults.heal({ kind: 'pause', target: 'broker-2' });
    await faults.inject({ kind: 'restart', target: 'broker-1' });
    await faults.heal({ kind: 'restart', target: 'broker-1' });
    expect(target.calls).toEqual([
      'SIGKILL broker-1',
      'restart broker-1',
      'SIGSTOP broker-2',
      'SIGCONT broker-2',
      'SIGTERM broker-1',
      'restart broker-1',
    ]);
  });

  test('overlapping kills of one node: killed once, restarted when the last of them heals', async () => {
    const target = fakeTarget();
    const faults = new ProcessFaults(target);
    await faults.inject({ kind: 'kill', target: 'broker-1' }, 1);
    await faults.inject({ kind: 'kill', target: '*' }, 2);
    await faults.heal({ kind: 'kill', target: 'broker-1' }, 1);
    expect(target.calls).toEqual(['SIGKILL broker-1', 'SIGKILL broker-2']);
    await faults.heal({ kind: 'kill', target: '*' }, 2);
    expect(target.calls.slice(2)).toEqual(['restart broker-1', 'restart broker-2']);
    await faults.heal({ kind: 'kill', target: '*' }, 2);
    expect(target.calls).toHaveLength(4);
  });

  test('a failed restart at heal keeps the node held, so a later heal tries again', async () => {
    const broken = ['broker-1'];
    const target = fakeTarget(broken);
    const faults = new ProcessFaults(target);
    await faults.inject({ kind: 'kill', target: 'broker-1' });
    await expect(faults.heal({ kind: 'kill', target: 'broker-1' })).rejects.toThrow('broker-1 does not start');
    broken.length = 0;
    await faults.heal({ kind: 'kill', target: 'broker-1' });
    expect(target.calls).toEqual(['SIGKILL broker-1', 'restart broker-1', 'restart broker-1']);
  });

  test('healAll continues paused nodes and restarts killed ones', async () => {
    const target = fakeTarget();
    const faults = new ProcessFaults(target);
    await faults.inject({ kind: 'pause', target: 'broker-1' });
    await faults.inject({ kind: 'kill', target: 'broker-2' });
    await faults.healAll();
    expect(target.calls.slice(2)).toEqual(['SIGCONT broker-1', 'restart broker-2']);
  });
});

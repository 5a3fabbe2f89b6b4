import { History } from '../harness/checks/history.ts';
import { seededRandom } from '../lib/random.ts';

/**
 * A realistic small drill for report tests and demos: 2 minutes of load at a rising rate with a broker partition
 * in the middle (sends time out, latency jumps, backlog builds), a consumer crash, then heal and drain. Some
 * anomalies are planted so the report has something to show: one lost message, a few duplicates.
 */
export function sampleHistory(seed = 7): History {
  const random = seededRandom(seed);
  const h = new History({
    run: 'sample-flash-sale',
    subscriptions: [{ group: 'orders-cg', topic: 'orders', fifo: false, maxAttempts: 4 }],
    drainSloMs: 60_000,
    meta: { scenario: 'flash-sale', seed },
  });
  const start = h.now();
  h.phase('load', 'start');
  const pending: string[] = [];
  let n = 0;
  for (let second = 0; second < 120; second++) {
    const partitioned = second >= 45 && second < 65;
    if (second === 45) h.at(start + second * 1000).fault('partition-broker-1', 1, 'start');
    if (second === 65) h.at(start + second * 1000).fault('partition-broker-1', 1, 'end');
    if (second === 90) h.at(start + second * 1000).fault('kill-consumer-2', 2, 'start');
    if (second === 98) h.at(start + second * 1000).fault('kill-consumer-2', 2, 'end');
    const rate = 20 + Math.floor(second / 4);
    // Consumers keep up except during the partition and while a consumer is down.
    const capacity = partitioned ? 5 : second >= 90 && second < 98 ? 15 : second >= 105 ? 30 : 60;
    const slots = Math.max(rate, capacity);
    for (let k = 0; k < slots; k++) {
      h.at(start + second * 1000 + Math.floor((k * 1000) / slots));
      if (k < rate) {
        const id = `p1-${++n}`;
        const slow = random.next() < 0.02 ? 40 : 0;
        const latencyMs = partitioned ? 200 + random.int(0, 1800) : 2 + random.next() * 6 + slow;
        const outcome = partitioned && random.next() < 0.15 ? 'unknown' : 'ok';
        h.send(id, { d: latencyMs, r: outcome });
        if (outcome === 'ok' && !(second === 100 && k === 3)) pending.push(id); // p1-... at 100 s is lost
      }
      if (k < capacity && pending.length > 0) {
        const id = pending.shift() as string;
        h.consume(id, 'orders-cg');
        if (random.next() < 0.004) h.consume(id, 'orders-cg', 2);
      }
    }
  }
  h.phase('load', 'end').phase('drain', 'start');
  for (let second = 120; pending.length > 0; second++) {
    h.at(start + second * 1000);
    for (let k = 0; k < 80 && pending.length > 0; k++) {
      h.at(start + second * 1000 + k * 12).consume(pending.shift() as string, 'orders-cg');
    }
  }
  h.at(2000).phase('drain', 'end');
  return h;
}

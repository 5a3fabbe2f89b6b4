// Boots the node driver in a worker thread: registers tsx (workers do not inherit the parent's loader hooks),
// then loads the TypeScript worker entry.
import { register } from 'tsx/esm/api';

register();
await import('./node-worker.ts');

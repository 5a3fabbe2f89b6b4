/**
 * The ledger's public surface: record types, the message property names, the writer and the reader.
 * The load engine, the drivers and the checkers import from here only. Format reference: docs/ledger.md.
 */
export {
  type LedgerBatch,
  LedgerFileCursor,
  LedgerFormatError,
  type MalformedLine,
  mergeLedgers,
  openLedgers,
  readAllEvents,
} from './reader.ts';
export * from './types.ts';
export { LedgerOverflowError, LedgerWriter, type LedgerWriterOptions } from './writer.ts';

// Original file: node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto

import type { Status as _apache_rocketmq_v2_Status, Status__Output as _apache_rocketmq_v2_Status__Output } from '../../../apache/rocketmq/v2/Status.ts';
import type { Settings as _apache_rocketmq_v2_Settings, Settings__Output as _apache_rocketmq_v2_Settings__Output } from '../../../apache/rocketmq/v2/Settings.ts';
import type { ThreadStackTrace as _apache_rocketmq_v2_ThreadStackTrace, ThreadStackTrace__Output as _apache_rocketmq_v2_ThreadStackTrace__Output } from '../../../apache/rocketmq/v2/ThreadStackTrace.ts';
import type { VerifyMessageResult as _apache_rocketmq_v2_VerifyMessageResult, VerifyMessageResult__Output as _apache_rocketmq_v2_VerifyMessageResult__Output } from '../../../apache/rocketmq/v2/VerifyMessageResult.ts';
import type { RecoverOrphanedTransactionCommand as _apache_rocketmq_v2_RecoverOrphanedTransactionCommand, RecoverOrphanedTransactionCommand__Output as _apache_rocketmq_v2_RecoverOrphanedTransactionCommand__Output } from '../../../apache/rocketmq/v2/RecoverOrphanedTransactionCommand.ts';
import type { PrintThreadStackTraceCommand as _apache_rocketmq_v2_PrintThreadStackTraceCommand, PrintThreadStackTraceCommand__Output as _apache_rocketmq_v2_PrintThreadStackTraceCommand__Output } from '../../../apache/rocketmq/v2/PrintThreadStackTraceCommand.ts';
import type { VerifyMessageCommand as _apache_rocketmq_v2_VerifyMessageCommand, VerifyMessageCommand__Output as _apache_rocketmq_v2_VerifyMessageCommand__Output } from '../../../apache/rocketmq/v2/VerifyMessageCommand.ts';
import type { ReconnectEndpointsCommand as _apache_rocketmq_v2_ReconnectEndpointsCommand, ReconnectEndpointsCommand__Output as _apache_rocketmq_v2_ReconnectEndpointsCommand__Output } from '../../../apache/rocketmq/v2/ReconnectEndpointsCommand.ts';
import type { NotifyUnsubscribeLiteCommand as _apache_rocketmq_v2_NotifyUnsubscribeLiteCommand, NotifyUnsubscribeLiteCommand__Output as _apache_rocketmq_v2_NotifyUnsubscribeLiteCommand__Output } from '../../../apache/rocketmq/v2/NotifyUnsubscribeLiteCommand.ts';

export interface TelemetryCommand {
  'status'?: (_apache_rocketmq_v2_Status | null);
  'settings'?: (_apache_rocketmq_v2_Settings | null);
  'threadStackTrace'?: (_apache_rocketmq_v2_ThreadStackTrace | null);
  'verifyMessageResult'?: (_apache_rocketmq_v2_VerifyMessageResult | null);
  'recoverOrphanedTransactionCommand'?: (_apache_rocketmq_v2_RecoverOrphanedTransactionCommand | null);
  'printThreadStackTraceCommand'?: (_apache_rocketmq_v2_PrintThreadStackTraceCommand | null);
  'verifyMessageCommand'?: (_apache_rocketmq_v2_VerifyMessageCommand | null);
  'reconnectEndpointsCommand'?: (_apache_rocketmq_v2_ReconnectEndpointsCommand | null);
  'notifyUnsubscribeLiteCommand'?: (_apache_rocketmq_v2_NotifyUnsubscribeLiteCommand | null);
  '_status'?: "status";
  'command'?: "settings"|"threadStackTrace"|"verifyMessageResult"|"recoverOrphanedTransactionCommand"|"printThreadStackTraceCommand"|"verifyMessageCommand"|"reconnectEndpointsCommand"|"notifyUnsubscribeLiteCommand";
}

export interface TelemetryCommand__Output {
  'status'?: (_apache_rocketmq_v2_Status__Output);
  'settings'?: (_apache_rocketmq_v2_Settings__Output);
  'threadStackTrace'?: (_apache_rocketmq_v2_ThreadStackTrace__Output);
  'verifyMessageResult'?: (_apache_rocketmq_v2_VerifyMessageResult__Output);
  'recoverOrphanedTransactionCommand'?: (_apache_rocketmq_v2_RecoverOrphanedTransactionCommand__Output);
  'printThreadStackTraceCommand'?: (_apache_rocketmq_v2_PrintThreadStackTraceCommand__Output);
  'verifyMessageCommand'?: (_apache_rocketmq_v2_VerifyMessageCommand__Output);
  'reconnectEndpointsCommand'?: (_apache_rocketmq_v2_ReconnectEndpointsCommand__Output);
  'notifyUnsubscribeLiteCommand'?: (_apache_rocketmq_v2_NotifyUnsubscribeLiteCommand__Output);
  '_status'?: "status";
  'command'?: "settings"|"threadStackTrace"|"verifyMessageResult"|"recoverOrphanedTransactionCommand"|"printThreadStackTraceCommand"|"verifyMessageCommand"|"reconnectEndpointsCommand"|"notifyUnsubscribeLiteCommand";
}

/**
 * The protobuf messages of the wire layer, typed from the .proto files (generated/, made by gen-types.ts with the
 * options codec.ts loads them with). A request arrives decoded as its `__Output` type (every field optional: a
 * client may leave any out); a reply is built as the input type the encoder accepts.
 */
export type { AckMessageRequest__Output } from './generated/apache/rocketmq/v2/AckMessageRequest.ts';
export type { AckMessageResponse } from './generated/apache/rocketmq/v2/AckMessageResponse.ts';
export type { AckMessageResultEntry } from './generated/apache/rocketmq/v2/AckMessageResultEntry.ts';
export type { Broker as BrokerInfo } from './generated/apache/rocketmq/v2/Broker.ts';

import type * as CIDROutPb from './generated/apache/rocketmq/v2/ChangeInvisibleDurationRequest.ts';
import type * as CIDRPb from './generated/apache/rocketmq/v2/ChangeInvisibleDurationResponse.ts';

export type { Code } from './generated/apache/rocketmq/v2/Code.ts';
export type { Endpoints, Endpoints__Output } from './generated/apache/rocketmq/v2/Endpoints.ts';
export type { EndTransactionRequest__Output } from './generated/apache/rocketmq/v2/EndTransactionRequest.ts';
export type { EndTransactionResponse } from './generated/apache/rocketmq/v2/EndTransactionResponse.ts';

import type * as FMTDLQROutPb from './generated/apache/rocketmq/v2/ForwardMessageToDeadLetterQueueRequest.ts';
import type * as FMTDLQRPb from './generated/apache/rocketmq/v2/ForwardMessageToDeadLetterQueueResponse.ts';

export type { HeartbeatRequest__Output } from './generated/apache/rocketmq/v2/HeartbeatRequest.ts';
export type { HeartbeatResponse } from './generated/apache/rocketmq/v2/HeartbeatResponse.ts';
export type { Message, Message__Output } from './generated/apache/rocketmq/v2/Message.ts';
export type { MessageQueue } from './generated/apache/rocketmq/v2/MessageQueue.ts';

import type * as NCTROutPb from './generated/apache/rocketmq/v2/NotifyClientTerminationRequest.ts';
import type * as NCTRPb from './generated/apache/rocketmq/v2/NotifyClientTerminationResponse.ts';

export type { QueryAssignmentRequest__Output } from './generated/apache/rocketmq/v2/QueryAssignmentRequest.ts';
export type { QueryAssignmentResponse } from './generated/apache/rocketmq/v2/QueryAssignmentResponse.ts';
export type { QueryRouteRequest__Output } from './generated/apache/rocketmq/v2/QueryRouteRequest.ts';
export type { QueryRouteResponse } from './generated/apache/rocketmq/v2/QueryRouteResponse.ts';
export type { ReceiveMessageRequest__Output } from './generated/apache/rocketmq/v2/ReceiveMessageRequest.ts';
export type { ReceiveMessageResponse } from './generated/apache/rocketmq/v2/ReceiveMessageResponse.ts';
export type { Resource, Resource__Output } from './generated/apache/rocketmq/v2/Resource.ts';
export type { SendMessageRequest__Output } from './generated/apache/rocketmq/v2/SendMessageRequest.ts';
export type { SendMessageResponse } from './generated/apache/rocketmq/v2/SendMessageResponse.ts';
export type { SendResultEntry } from './generated/apache/rocketmq/v2/SendResultEntry.ts';
export type { Settings, Settings__Output } from './generated/apache/rocketmq/v2/Settings.ts';
export type { Status } from './generated/apache/rocketmq/v2/Status.ts';
export type { SystemProperties, SystemProperties__Output } from './generated/apache/rocketmq/v2/SystemProperties.ts';
export type { TelemetryCommand, TelemetryCommand__Output } from './generated/apache/rocketmq/v2/TelemetryCommand.ts';

export type ChangeInvisibleDurationRequest__Output = CIDROutPb.ChangeInvisibleDurationRequest__Output;
export type ChangeInvisibleDurationResponse = CIDRPb.ChangeInvisibleDurationResponse;
export type ForwardMessageToDeadLetterQueueRequest__Output =
  FMTDLQROutPb.ForwardMessageToDeadLetterQueueRequest__Output;
export type ForwardMessageToDeadLetterQueueResponse = FMTDLQRPb.ForwardMessageToDeadLetterQueueResponse;
export type NotifyClientTerminationRequest__Output = NCTROutPb.NotifyClientTerminationRequest__Output;
export type NotifyClientTerminationResponse = NCTRPb.NotifyClientTerminationResponse;

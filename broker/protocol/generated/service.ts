import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AckMessageEntry as _apache_rocketmq_v2_AckMessageEntry, AckMessageEntry__Output as _apache_rocketmq_v2_AckMessageEntry__Output } from './apache/rocketmq/v2/AckMessageEntry.ts';
import type { AckMessageRequest as _apache_rocketmq_v2_AckMessageRequest, AckMessageRequest__Output as _apache_rocketmq_v2_AckMessageRequest__Output } from './apache/rocketmq/v2/AckMessageRequest.ts';
import type { AckMessageResponse as _apache_rocketmq_v2_AckMessageResponse, AckMessageResponse__Output as _apache_rocketmq_v2_AckMessageResponse__Output } from './apache/rocketmq/v2/AckMessageResponse.ts';
import type { AckMessageResultEntry as _apache_rocketmq_v2_AckMessageResultEntry, AckMessageResultEntry__Output as _apache_rocketmq_v2_AckMessageResultEntry__Output } from './apache/rocketmq/v2/AckMessageResultEntry.ts';
import type { Address as _apache_rocketmq_v2_Address, Address__Output as _apache_rocketmq_v2_Address__Output } from './apache/rocketmq/v2/Address.ts';
import type { Assignment as _apache_rocketmq_v2_Assignment, Assignment__Output as _apache_rocketmq_v2_Assignment__Output } from './apache/rocketmq/v2/Assignment.ts';
import type { Broker as _apache_rocketmq_v2_Broker, Broker__Output as _apache_rocketmq_v2_Broker__Output } from './apache/rocketmq/v2/Broker.ts';
import type { ChangeInvisibleDurationRequest as _apache_rocketmq_v2_ChangeInvisibleDurationRequest, ChangeInvisibleDurationRequest__Output as _apache_rocketmq_v2_ChangeInvisibleDurationRequest__Output } from './apache/rocketmq/v2/ChangeInvisibleDurationRequest.ts';
import type { ChangeInvisibleDurationResponse as _apache_rocketmq_v2_ChangeInvisibleDurationResponse, ChangeInvisibleDurationResponse__Output as _apache_rocketmq_v2_ChangeInvisibleDurationResponse__Output } from './apache/rocketmq/v2/ChangeInvisibleDurationResponse.ts';
import type { CustomizedBackoff as _apache_rocketmq_v2_CustomizedBackoff, CustomizedBackoff__Output as _apache_rocketmq_v2_CustomizedBackoff__Output } from './apache/rocketmq/v2/CustomizedBackoff.ts';
import type { DeadLetterQueue as _apache_rocketmq_v2_DeadLetterQueue, DeadLetterQueue__Output as _apache_rocketmq_v2_DeadLetterQueue__Output } from './apache/rocketmq/v2/DeadLetterQueue.ts';
import type { Digest as _apache_rocketmq_v2_Digest, Digest__Output as _apache_rocketmq_v2_Digest__Output } from './apache/rocketmq/v2/Digest.ts';
import type { EndTransactionRequest as _apache_rocketmq_v2_EndTransactionRequest, EndTransactionRequest__Output as _apache_rocketmq_v2_EndTransactionRequest__Output } from './apache/rocketmq/v2/EndTransactionRequest.ts';
import type { EndTransactionResponse as _apache_rocketmq_v2_EndTransactionResponse, EndTransactionResponse__Output as _apache_rocketmq_v2_EndTransactionResponse__Output } from './apache/rocketmq/v2/EndTransactionResponse.ts';
import type { Endpoints as _apache_rocketmq_v2_Endpoints, Endpoints__Output as _apache_rocketmq_v2_Endpoints__Output } from './apache/rocketmq/v2/Endpoints.ts';
import type { ExponentialBackoff as _apache_rocketmq_v2_ExponentialBackoff, ExponentialBackoff__Output as _apache_rocketmq_v2_ExponentialBackoff__Output } from './apache/rocketmq/v2/ExponentialBackoff.ts';
import type { FilterExpression as _apache_rocketmq_v2_FilterExpression, FilterExpression__Output as _apache_rocketmq_v2_FilterExpression__Output } from './apache/rocketmq/v2/FilterExpression.ts';
import type { ForwardMessageToDeadLetterQueueRequest as _apache_rocketmq_v2_ForwardMessageToDeadLetterQueueRequest, ForwardMessageToDeadLetterQueueRequest__Output as _apache_rocketmq_v2_ForwardMessageToDeadLetterQueueRequest__Output } from './apache/rocketmq/v2/ForwardMessageToDeadLetterQueueRequest.ts';
import type { ForwardMessageToDeadLetterQueueResponse as _apache_rocketmq_v2_ForwardMessageToDeadLetterQueueResponse, ForwardMessageToDeadLetterQueueResponse__Output as _apache_rocketmq_v2_ForwardMessageToDeadLetterQueueResponse__Output } from './apache/rocketmq/v2/ForwardMessageToDeadLetterQueueResponse.ts';
import type { GetOffsetRequest as _apache_rocketmq_v2_GetOffsetRequest, GetOffsetRequest__Output as _apache_rocketmq_v2_GetOffsetRequest__Output } from './apache/rocketmq/v2/GetOffsetRequest.ts';
import type { GetOffsetResponse as _apache_rocketmq_v2_GetOffsetResponse, GetOffsetResponse__Output as _apache_rocketmq_v2_GetOffsetResponse__Output } from './apache/rocketmq/v2/GetOffsetResponse.ts';
import type { HeartbeatRequest as _apache_rocketmq_v2_HeartbeatRequest, HeartbeatRequest__Output as _apache_rocketmq_v2_HeartbeatRequest__Output } from './apache/rocketmq/v2/HeartbeatRequest.ts';
import type { HeartbeatResponse as _apache_rocketmq_v2_HeartbeatResponse, HeartbeatResponse__Output as _apache_rocketmq_v2_HeartbeatResponse__Output } from './apache/rocketmq/v2/HeartbeatResponse.ts';
import type { Message as _apache_rocketmq_v2_Message, Message__Output as _apache_rocketmq_v2_Message__Output } from './apache/rocketmq/v2/Message.ts';
import type { MessageQueue as _apache_rocketmq_v2_MessageQueue, MessageQueue__Output as _apache_rocketmq_v2_MessageQueue__Output } from './apache/rocketmq/v2/MessageQueue.ts';
import type { MessagingServiceClient as _apache_rocketmq_v2_MessagingServiceClient, MessagingServiceDefinition as _apache_rocketmq_v2_MessagingServiceDefinition } from './apache/rocketmq/v2/MessagingService.ts';
import type { Metric as _apache_rocketmq_v2_Metric, Metric__Output as _apache_rocketmq_v2_Metric__Output } from './apache/rocketmq/v2/Metric.ts';
import type { NotifyClientTerminationRequest as _apache_rocketmq_v2_NotifyClientTerminationRequest, NotifyClientTerminationRequest__Output as _apache_rocketmq_v2_NotifyClientTerminationRequest__Output } from './apache/rocketmq/v2/NotifyClientTerminationRequest.ts';
import type { NotifyClientTerminationResponse as _apache_rocketmq_v2_NotifyClientTerminationResponse, NotifyClientTerminationResponse__Output as _apache_rocketmq_v2_NotifyClientTerminationResponse__Output } from './apache/rocketmq/v2/NotifyClientTerminationResponse.ts';
import type { NotifyUnsubscribeLiteCommand as _apache_rocketmq_v2_NotifyUnsubscribeLiteCommand, NotifyUnsubscribeLiteCommand__Output as _apache_rocketmq_v2_NotifyUnsubscribeLiteCommand__Output } from './apache/rocketmq/v2/NotifyUnsubscribeLiteCommand.ts';
import type { OffsetOption as _apache_rocketmq_v2_OffsetOption, OffsetOption__Output as _apache_rocketmq_v2_OffsetOption__Output } from './apache/rocketmq/v2/OffsetOption.ts';
import type { PrintThreadStackTraceCommand as _apache_rocketmq_v2_PrintThreadStackTraceCommand, PrintThreadStackTraceCommand__Output as _apache_rocketmq_v2_PrintThreadStackTraceCommand__Output } from './apache/rocketmq/v2/PrintThreadStackTraceCommand.ts';
import type { Publishing as _apache_rocketmq_v2_Publishing, Publishing__Output as _apache_rocketmq_v2_Publishing__Output } from './apache/rocketmq/v2/Publishing.ts';
import type { PullMessageRequest as _apache_rocketmq_v2_PullMessageRequest, PullMessageRequest__Output as _apache_rocketmq_v2_PullMessageRequest__Output } from './apache/rocketmq/v2/PullMessageRequest.ts';
import type { PullMessageResponse as _apache_rocketmq_v2_PullMessageResponse, PullMessageResponse__Output as _apache_rocketmq_v2_PullMessageResponse__Output } from './apache/rocketmq/v2/PullMessageResponse.ts';
import type { QueryAssignmentRequest as _apache_rocketmq_v2_QueryAssignmentRequest, QueryAssignmentRequest__Output as _apache_rocketmq_v2_QueryAssignmentRequest__Output } from './apache/rocketmq/v2/QueryAssignmentRequest.ts';
import type { QueryAssignmentResponse as _apache_rocketmq_v2_QueryAssignmentResponse, QueryAssignmentResponse__Output as _apache_rocketmq_v2_QueryAssignmentResponse__Output } from './apache/rocketmq/v2/QueryAssignmentResponse.ts';
import type { QueryOffsetRequest as _apache_rocketmq_v2_QueryOffsetRequest, QueryOffsetRequest__Output as _apache_rocketmq_v2_QueryOffsetRequest__Output } from './apache/rocketmq/v2/QueryOffsetRequest.ts';
import type { QueryOffsetResponse as _apache_rocketmq_v2_QueryOffsetResponse, QueryOffsetResponse__Output as _apache_rocketmq_v2_QueryOffsetResponse__Output } from './apache/rocketmq/v2/QueryOffsetResponse.ts';
import type { QueryRouteRequest as _apache_rocketmq_v2_QueryRouteRequest, QueryRouteRequest__Output as _apache_rocketmq_v2_QueryRouteRequest__Output } from './apache/rocketmq/v2/QueryRouteRequest.ts';
import type { QueryRouteResponse as _apache_rocketmq_v2_QueryRouteResponse, QueryRouteResponse__Output as _apache_rocketmq_v2_QueryRouteResponse__Output } from './apache/rocketmq/v2/QueryRouteResponse.ts';
import type { RecallMessageRequest as _apache_rocketmq_v2_RecallMessageRequest, RecallMessageRequest__Output as _apache_rocketmq_v2_RecallMessageRequest__Output } from './apache/rocketmq/v2/RecallMessageRequest.ts';
import type { RecallMessageResponse as _apache_rocketmq_v2_RecallMessageResponse, RecallMessageResponse__Output as _apache_rocketmq_v2_RecallMessageResponse__Output } from './apache/rocketmq/v2/RecallMessageResponse.ts';
import type { ReceiveMessageRequest as _apache_rocketmq_v2_ReceiveMessageRequest, ReceiveMessageRequest__Output as _apache_rocketmq_v2_ReceiveMessageRequest__Output } from './apache/rocketmq/v2/ReceiveMessageRequest.ts';
import type { ReceiveMessageResponse as _apache_rocketmq_v2_ReceiveMessageResponse, ReceiveMessageResponse__Output as _apache_rocketmq_v2_ReceiveMessageResponse__Output } from './apache/rocketmq/v2/ReceiveMessageResponse.ts';
import type { ReconnectEndpointsCommand as _apache_rocketmq_v2_ReconnectEndpointsCommand, ReconnectEndpointsCommand__Output as _apache_rocketmq_v2_ReconnectEndpointsCommand__Output } from './apache/rocketmq/v2/ReconnectEndpointsCommand.ts';
import type { RecoverOrphanedTransactionCommand as _apache_rocketmq_v2_RecoverOrphanedTransactionCommand, RecoverOrphanedTransactionCommand__Output as _apache_rocketmq_v2_RecoverOrphanedTransactionCommand__Output } from './apache/rocketmq/v2/RecoverOrphanedTransactionCommand.ts';
import type { Resource as _apache_rocketmq_v2_Resource, Resource__Output as _apache_rocketmq_v2_Resource__Output } from './apache/rocketmq/v2/Resource.ts';
import type { RetryPolicy as _apache_rocketmq_v2_RetryPolicy, RetryPolicy__Output as _apache_rocketmq_v2_RetryPolicy__Output } from './apache/rocketmq/v2/RetryPolicy.ts';
import type { SendMessageRequest as _apache_rocketmq_v2_SendMessageRequest, SendMessageRequest__Output as _apache_rocketmq_v2_SendMessageRequest__Output } from './apache/rocketmq/v2/SendMessageRequest.ts';
import type { SendMessageResponse as _apache_rocketmq_v2_SendMessageResponse, SendMessageResponse__Output as _apache_rocketmq_v2_SendMessageResponse__Output } from './apache/rocketmq/v2/SendMessageResponse.ts';
import type { SendResultEntry as _apache_rocketmq_v2_SendResultEntry, SendResultEntry__Output as _apache_rocketmq_v2_SendResultEntry__Output } from './apache/rocketmq/v2/SendResultEntry.ts';
import type { Settings as _apache_rocketmq_v2_Settings, Settings__Output as _apache_rocketmq_v2_Settings__Output } from './apache/rocketmq/v2/Settings.ts';
import type { Status as _apache_rocketmq_v2_Status, Status__Output as _apache_rocketmq_v2_Status__Output } from './apache/rocketmq/v2/Status.ts';
import type { Subscription as _apache_rocketmq_v2_Subscription, Subscription__Output as _apache_rocketmq_v2_Subscription__Output } from './apache/rocketmq/v2/Subscription.ts';
import type { SubscriptionEntry as _apache_rocketmq_v2_SubscriptionEntry, SubscriptionEntry__Output as _apache_rocketmq_v2_SubscriptionEntry__Output } from './apache/rocketmq/v2/SubscriptionEntry.ts';
import type { SyncLiteSubscriptionRequest as _apache_rocketmq_v2_SyncLiteSubscriptionRequest, SyncLiteSubscriptionRequest__Output as _apache_rocketmq_v2_SyncLiteSubscriptionRequest__Output } from './apache/rocketmq/v2/SyncLiteSubscriptionRequest.ts';
import type { SyncLiteSubscriptionResponse as _apache_rocketmq_v2_SyncLiteSubscriptionResponse, SyncLiteSubscriptionResponse__Output as _apache_rocketmq_v2_SyncLiteSubscriptionResponse__Output } from './apache/rocketmq/v2/SyncLiteSubscriptionResponse.ts';
import type { SystemProperties as _apache_rocketmq_v2_SystemProperties, SystemProperties__Output as _apache_rocketmq_v2_SystemProperties__Output } from './apache/rocketmq/v2/SystemProperties.ts';
import type { TelemetryCommand as _apache_rocketmq_v2_TelemetryCommand, TelemetryCommand__Output as _apache_rocketmq_v2_TelemetryCommand__Output } from './apache/rocketmq/v2/TelemetryCommand.ts';
import type { ThreadStackTrace as _apache_rocketmq_v2_ThreadStackTrace, ThreadStackTrace__Output as _apache_rocketmq_v2_ThreadStackTrace__Output } from './apache/rocketmq/v2/ThreadStackTrace.ts';
import type { UA as _apache_rocketmq_v2_UA, UA__Output as _apache_rocketmq_v2_UA__Output } from './apache/rocketmq/v2/UA.ts';
import type { UpdateOffsetRequest as _apache_rocketmq_v2_UpdateOffsetRequest, UpdateOffsetRequest__Output as _apache_rocketmq_v2_UpdateOffsetRequest__Output } from './apache/rocketmq/v2/UpdateOffsetRequest.ts';
import type { UpdateOffsetResponse as _apache_rocketmq_v2_UpdateOffsetResponse, UpdateOffsetResponse__Output as _apache_rocketmq_v2_UpdateOffsetResponse__Output } from './apache/rocketmq/v2/UpdateOffsetResponse.ts';
import type { VerifyMessageCommand as _apache_rocketmq_v2_VerifyMessageCommand, VerifyMessageCommand__Output as _apache_rocketmq_v2_VerifyMessageCommand__Output } from './apache/rocketmq/v2/VerifyMessageCommand.ts';
import type { VerifyMessageResult as _apache_rocketmq_v2_VerifyMessageResult, VerifyMessageResult__Output as _apache_rocketmq_v2_VerifyMessageResult__Output } from './apache/rocketmq/v2/VerifyMessageResult.ts';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  apache: {
    rocketmq: {
      v2: {
        AckMessageEntry: MessageTypeDefinition<_apache_rocketmq_v2_AckMessageEntry, _apache_rocketmq_v2_AckMessageEntry__Output>
        AckMessageRequest: MessageTypeDefinition<_apache_rocketmq_v2_AckMessageRequest, _apache_rocketmq_v2_AckMessageRequest__Output>
        AckMessageResponse: MessageTypeDefinition<_apache_rocketmq_v2_AckMessageResponse, _apache_rocketmq_v2_AckMessageResponse__Output>
        AckMessageResultEntry: MessageTypeDefinition<_apache_rocketmq_v2_AckMessageResultEntry, _apache_rocketmq_v2_AckMessageResultEntry__Output>
        Address: MessageTypeDefinition<_apache_rocketmq_v2_Address, _apache_rocketmq_v2_Address__Output>
        AddressScheme: EnumTypeDefinition
        Assignment: MessageTypeDefinition<_apache_rocketmq_v2_Assignment, _apache_rocketmq_v2_Assignment__Output>
        Broker: MessageTypeDefinition<_apache_rocketmq_v2_Broker, _apache_rocketmq_v2_Broker__Output>
        ChangeInvisibleDurationRequest: MessageTypeDefinition<_apache_rocketmq_v2_ChangeInvisibleDurationRequest, _apache_rocketmq_v2_ChangeInvisibleDurationRequest__Output>
        ChangeInvisibleDurationResponse: MessageTypeDefinition<_apache_rocketmq_v2_ChangeInvisibleDurationResponse, _apache_rocketmq_v2_ChangeInvisibleDurationResponse__Output>
        ClientType: EnumTypeDefinition
        Code: EnumTypeDefinition
        CustomizedBackoff: MessageTypeDefinition<_apache_rocketmq_v2_CustomizedBackoff, _apache_rocketmq_v2_CustomizedBackoff__Output>
        DeadLetterQueue: MessageTypeDefinition<_apache_rocketmq_v2_DeadLetterQueue, _apache_rocketmq_v2_DeadLetterQueue__Output>
        Digest: MessageTypeDefinition<_apache_rocketmq_v2_Digest, _apache_rocketmq_v2_Digest__Output>
        DigestType: EnumTypeDefinition
        Encoding: EnumTypeDefinition
        EndTransactionRequest: MessageTypeDefinition<_apache_rocketmq_v2_EndTransactionRequest, _apache_rocketmq_v2_EndTransactionRequest__Output>
        EndTransactionResponse: MessageTypeDefinition<_apache_rocketmq_v2_EndTransactionResponse, _apache_rocketmq_v2_EndTransactionResponse__Output>
        Endpoints: MessageTypeDefinition<_apache_rocketmq_v2_Endpoints, _apache_rocketmq_v2_Endpoints__Output>
        ExponentialBackoff: MessageTypeDefinition<_apache_rocketmq_v2_ExponentialBackoff, _apache_rocketmq_v2_ExponentialBackoff__Output>
        FilterExpression: MessageTypeDefinition<_apache_rocketmq_v2_FilterExpression, _apache_rocketmq_v2_FilterExpression__Output>
        FilterType: EnumTypeDefinition
        ForwardMessageToDeadLetterQueueRequest: MessageTypeDefinition<_apache_rocketmq_v2_ForwardMessageToDeadLetterQueueRequest, _apache_rocketmq_v2_ForwardMessageToDeadLetterQueueRequest__Output>
        ForwardMessageToDeadLetterQueueResponse: MessageTypeDefinition<_apache_rocketmq_v2_ForwardMessageToDeadLetterQueueResponse, _apache_rocketmq_v2_ForwardMessageToDeadLetterQueueResponse__Output>
        GetOffsetRequest: MessageTypeDefinition<_apache_rocketmq_v2_GetOffsetRequest, _apache_rocketmq_v2_GetOffsetRequest__Output>
        GetOffsetResponse: MessageTypeDefinition<_apache_rocketmq_v2_GetOffsetResponse, _apache_rocketmq_v2_GetOffsetResponse__Output>
        HeartbeatRequest: MessageTypeDefinition<_apache_rocketmq_v2_HeartbeatRequest, _apache_rocketmq_v2_HeartbeatRequest__Output>
        HeartbeatResponse: MessageTypeDefinition<_apache_rocketmq_v2_HeartbeatResponse, _apache_rocketmq_v2_HeartbeatResponse__Output>
        Language: EnumTypeDefinition
        LiteSubscriptionAction: EnumTypeDefinition
        Message: MessageTypeDefinition<_apache_rocketmq_v2_Message, _apache_rocketmq_v2_Message__Output>
        MessageQueue: MessageTypeDefinition<_apache_rocketmq_v2_MessageQueue, _apache_rocketmq_v2_MessageQueue__Output>
        MessageType: EnumTypeDefinition
        MessagingService: SubtypeConstructor<typeof grpc.Client, _apache_rocketmq_v2_MessagingServiceClient> & { service: _apache_rocketmq_v2_MessagingServiceDefinition }
        Metric: MessageTypeDefinition<_apache_rocketmq_v2_Metric, _apache_rocketmq_v2_Metric__Output>
        NotifyClientTerminationRequest: MessageTypeDefinition<_apache_rocketmq_v2_NotifyClientTerminationRequest, _apache_rocketmq_v2_NotifyClientTerminationRequest__Output>
        NotifyClientTerminationResponse: MessageTypeDefinition<_apache_rocketmq_v2_NotifyClientTerminationResponse, _apache_rocketmq_v2_NotifyClientTerminationResponse__Output>
        NotifyUnsubscribeLiteCommand: MessageTypeDefinition<_apache_rocketmq_v2_NotifyUnsubscribeLiteCommand, _apache_rocketmq_v2_NotifyUnsubscribeLiteCommand__Output>
        OffsetOption: MessageTypeDefinition<_apache_rocketmq_v2_OffsetOption, _apache_rocketmq_v2_OffsetOption__Output>
        Permission: EnumTypeDefinition
        PrintThreadStackTraceCommand: MessageTypeDefinition<_apache_rocketmq_v2_PrintThreadStackTraceCommand, _apache_rocketmq_v2_PrintThreadStackTraceCommand__Output>
        Publishing: MessageTypeDefinition<_apache_rocketmq_v2_Publishing, _apache_rocketmq_v2_Publishing__Output>
        PullMessageRequest: MessageTypeDefinition<_apache_rocketmq_v2_PullMessageRequest, _apache_rocketmq_v2_PullMessageRequest__Output>
        PullMessageResponse: MessageTypeDefinition<_apache_rocketmq_v2_PullMessageResponse, _apache_rocketmq_v2_PullMessageResponse__Output>
        QueryAssignmentRequest: MessageTypeDefinition<_apache_rocketmq_v2_QueryAssignmentRequest, _apache_rocketmq_v2_QueryAssignmentRequest__Output>
        QueryAssignmentResponse: MessageTypeDefinition<_apache_rocketmq_v2_QueryAssignmentResponse, _apache_rocketmq_v2_QueryAssignmentResponse__Output>
        QueryOffsetPolicy: EnumTypeDefinition
        QueryOffsetRequest: MessageTypeDefinition<_apache_rocketmq_v2_QueryOffsetRequest, _apache_rocketmq_v2_QueryOffsetRequest__Output>
        QueryOffsetResponse: MessageTypeDefinition<_apache_rocketmq_v2_QueryOffsetResponse, _apache_rocketmq_v2_QueryOffsetResponse__Output>
        QueryRouteRequest: MessageTypeDefinition<_apache_rocketmq_v2_QueryRouteRequest, _apache_rocketmq_v2_QueryRouteRequest__Output>
        QueryRouteResponse: MessageTypeDefinition<_apache_rocketmq_v2_QueryRouteResponse, _apache_rocketmq_v2_QueryRouteResponse__Output>
        RecallMessageRequest: MessageTypeDefinition<_apache_rocketmq_v2_RecallMessageRequest, _apache_rocketmq_v2_RecallMessageRequest__Output>
        RecallMessageResponse: MessageTypeDefinition<_apache_rocketmq_v2_RecallMessageResponse, _apache_rocketmq_v2_RecallMessageResponse__Output>
        ReceiveMessageRequest: MessageTypeDefinition<_apache_rocketmq_v2_ReceiveMessageRequest, _apache_rocketmq_v2_ReceiveMessageRequest__Output>
        ReceiveMessageResponse: MessageTypeDefinition<_apache_rocketmq_v2_ReceiveMessageResponse, _apache_rocketmq_v2_ReceiveMessageResponse__Output>
        ReconnectEndpointsCommand: MessageTypeDefinition<_apache_rocketmq_v2_ReconnectEndpointsCommand, _apache_rocketmq_v2_ReconnectEndpointsCommand__Output>
        RecoverOrphanedTransactionCommand: MessageTypeDefinition<_apache_rocketmq_v2_RecoverOrphanedTransactionCommand, _apache_rocketmq_v2_RecoverOrphanedTransactionCommand__Output>
        Resource: MessageTypeDefinition<_apache_rocketmq_v2_Resource, _apache_rocketmq_v2_Resource__Output>
        RetryPolicy: MessageTypeDefinition<_apache_rocketmq_v2_RetryPolicy, _apache_rocketmq_v2_RetryPolicy__Output>
        SendMessageRequest: MessageTypeDefinition<_apache_rocketmq_v2_SendMessageRequest, _apache_rocketmq_v2_SendMessageRequest__Output>
        SendMessageResponse: MessageTypeDefinition<_apache_rocketmq_v2_SendMessageResponse, _apache_rocketmq_v2_SendMessageResponse__Output>
        SendResultEntry: MessageTypeDefinition<_apache_rocketmq_v2_SendResultEntry, _apache_rocketmq_v2_SendResultEntry__Output>
        Settings: MessageTypeDefinition<_apache_rocketmq_v2_Settings, _apache_rocketmq_v2_Settings__Output>
        Status: MessageTypeDefinition<_apache_rocketmq_v2_Status, _apache_rocketmq_v2_Status__Output>
        Subscription: MessageTypeDefinition<_apache_rocketmq_v2_Subscription, _apache_rocketmq_v2_Subscription__Output>
        SubscriptionEntry: MessageTypeDefinition<_apache_rocketmq_v2_SubscriptionEntry, _apache_rocketmq_v2_SubscriptionEntry__Output>
        SyncLiteSubscriptionRequest: MessageTypeDefinition<_apache_rocketmq_v2_SyncLiteSubscriptionRequest, _apache_rocketmq_v2_SyncLiteSubscriptionRequest__Output>
        SyncLiteSubscriptionResponse: MessageTypeDefinition<_apache_rocketmq_v2_SyncLiteSubscriptionResponse, _apache_rocketmq_v2_SyncLiteSubscriptionResponse__Output>
        SystemProperties: MessageTypeDefinition<_apache_rocketmq_v2_SystemProperties, _apache_rocketmq_v2_SystemProperties__Output>
        TelemetryCommand: MessageTypeDefinition<_apache_rocketmq_v2_TelemetryCommand, _apache_rocketmq_v2_TelemetryCommand__Output>
        ThreadStackTrace: MessageTypeDefinition<_apache_rocketmq_v2_ThreadStackTrace, _apache_rocketmq_v2_ThreadStackTrace__Output>
        TransactionResolution: EnumTypeDefinition
        TransactionSource: EnumTypeDefinition
        UA: MessageTypeDefinition<_apache_rocketmq_v2_UA, _apache_rocketmq_v2_UA__Output>
        UpdateOffsetRequest: MessageTypeDefinition<_apache_rocketmq_v2_UpdateOffsetRequest, _apache_rocketmq_v2_UpdateOffsetRequest__Output>
        UpdateOffsetResponse: MessageTypeDefinition<_apache_rocketmq_v2_UpdateOffsetResponse, _apache_rocketmq_v2_UpdateOffsetResponse__Output>
        VerifyMessageCommand: MessageTypeDefinition<_apache_rocketmq_v2_VerifyMessageCommand, _apache_rocketmq_v2_VerifyMessageCommand__Output>
        VerifyMessageResult: MessageTypeDefinition<_apache_rocketmq_v2_VerifyMessageResult, _apache_rocketmq_v2_VerifyMessageResult__Output>
      }
    }
  }
  google: {
    protobuf: {
      Duration: MessageTypeDefinition<_google_protobuf_Duration, _google_protobuf_Duration__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
  }
}


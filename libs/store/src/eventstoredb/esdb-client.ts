import {
  BACKWARDS,
  EventStoreDBClient,
  START,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type AppendResult,
  type Direction,
  type EventData,
  type Filter,
  type ReadPosition,
  type ReadStreamOptions,
  type ResolvedEvent,
  type StreamingRead,
  type SubscribeToAllOptions,
  type AllStreamSubscription,
} from '@eventstore/db-client';
// The client (6.2.1) sends `no_filter` on every read of $all; the server filters reads as it filters
// subscriptions. These are the pieces its own readAll is made of, to send the filter as well.
import { Empty } from '@eventstore/db-client/generated/shared_pb';
import { StreamsClient } from '@eventstore/db-client/generated/streams_grpc_pb';
import { ReadReq, type ReadResp } from '@eventstore/db-client/generated/streams_pb';
import { ReadStream } from '@eventstore/db-client/dist/streams/utils/ReadStream';
import { convertGrpcEvent } from '@eventstore/db-client/dist/utils/convertGrpcEvent';
import type { CallOptions, ClientReadableStream, Metadata } from '@grpc/grpc-js';

export interface FilteredReadAllOptions {
  fromPosition: ReadPosition;
  direction: Direction;
  maxCount: number;
  filter: Filter;
  /** The call's gRPC deadline (ms from now); the client's own reads have none (Infinity). */
  deadline: number;
}

/** What the adapter uses of a client: the real one (`esdbClient`) or a test's stand-in. */
export interface EsdbClient {
  appendToStream(streamName: string, events: EventData[], options: { expectedRevision: AppendExpectedRevision }): Promise<AppendResult>;
  readStream(streamName: string, options: ReadStreamOptions): StreamingRead<ResolvedEvent>;
  /** $all, filtered by the server (events that do not match never cross the network). */
  readAllFiltered(options: FilteredReadAllOptions): StreamingRead<AllStreamResolvedEvent>;
  subscribeToAll(options: SubscribeToAllOptions): AllStreamSubscription;
  dispose(): Promise<void>;
}

interface ClientInternals {
  GRPCStreamCreator: (
    client: typeof StreamsClient,
    name: string,
    creator: (c: StreamsClient) => ClientReadableStream<ReadResp>,
  ) => () => Promise<ClientReadableStream<ReadResp>>;
  callArguments: (base: { deadline?: number }, call: { deadline?: number }) => [Metadata, Partial<CallOptions>];
}

export function esdbClient(connectionString: string): EsdbClient {
  const client = EventStoreDBClient.connectionString(connectionString);
  const internals = client as unknown as ClientInternals;
  return {
    appendToStream: (name, events, options) => client.appendToStream(name, events, options),
    readStream: (name, options) => client.readStream(name, options),
    subscribeToAll: (options) => client.subscribeToAll(options),
    dispose: () => client.dispose(),
    readAllFiltered: ({ fromPosition, direction, maxCount, filter, deadline }) => {
      const options = new ReadReq.Options();
      const uuid = new ReadReq.Options.UUIDOption();
      uuid.setString(new Empty());
      const all = new ReadReq.Options.AllOptions();
      if (fromPosition === START) all.setStart(new Empty());
      else if (fromPosition === 'end') all.setEnd(new Empty());
      else {
        const position = new ReadReq.Options.Position();
        position.setCommitPosition(fromPosition.commit.toString(10));
        position.setPreparePosition(fromPosition.prepare.toString(10));
        all.setPosition(position);
      }
      options.setAll(all);
      options.setResolveLinks(false);
      options.setCount(String(maxCount));
      options.setUuidOption(uuid);
      options.setReadDirection(direction === BACKWARDS ? ReadReq.Options.ReadDirection.BACKWARDS : ReadReq.Options.ReadDirection.FORWARDS);
      const expression = new ReadReq.Options.FilterOptions.Expression();
      if ('regex' in filter) expression.setRegex(filter.regex);
      if ('prefixes' in filter) expression.setPrefixList(filter.prefixes);
      const filterOptions = new ReadReq.Options.FilterOptions();
      if (filter.filterOn === 'streamName') filterOptions.setStreamIdentifier(expression);
      else filterOptions.setEventType(expression);
      filterOptions.setCount(new Empty());
      filterOptions.setCheckpointintervalmultiplier(1);
      options.setFilter(filterOptions);
      const request = new ReadReq();
      request.setOptions(options);
      const create = internals.GRPCStreamCreator(StreamsClient, 'readAllFiltered', (c) => c.read(request, ...internals.callArguments({ deadline }, {})));
      return new ReadStream<AllStreamResolvedEvent>(create, convertGrpcEvent, {});
    },
  };
}

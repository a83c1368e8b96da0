// The subset of the Talos machine API this package speaks, written for this package with Talos's
// package, service, message names and field numbers (api/common, api/machine, api/cluster), plus
// the few well-known Google types they use. Parsed once with protobufjs; the gRPC client and the
// test simulator both build their (de)serializers from this one root.

import * as protobuf from 'protobufjs';

const GOOGLE = `
syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
message Duration { int64 seconds = 1; int32 nanos = 2; }
message Empty {}
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
`;

const GOOGLE_RPC = `
syntax = "proto3";
package google.rpc;
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
`;

const COMMON = `
syntax = "proto3";
package common;
enum Code { FATAL = 0; LOCKED = 1; CANCELED = 2; }
message Error { Code code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
message Metadata { string hostname = 1; string error = 2; google.rpc.Status status = 3; }
message Data { Metadata metadata = 1; bytes bytes = 2; }
`;

const MACHINE = `
syntax = "proto3";
package machine;

service MachineService {
  rpc ApplyConfiguration(ApplyConfigurationRequest) returns (ApplyConfigurationResponse);
  rpc Bootstrap(BootstrapRequest) returns (BootstrapResponse);
  rpc Events(EventsRequest) returns (stream Event);
  rpc EtcdMemberList(EtcdMemberListRequest) returns (EtcdMemberListResponse);
  rpc EtcdRecover(stream common.Data) returns (EtcdRecoverResponse);
  rpc EtcdRemoveMemberByID(EtcdRemoveMemberByIDRequest) returns (EtcdRemoveMemberByIDResponse);
  rpc EtcdSnapshot(EtcdSnapshotRequest) returns (stream common.Data);
  rpc Kubeconfig(google.protobuf.Empty) returns (stream common.Data);
  rpc Read(ReadRequest) returns (stream common.Data);
  rpc Reboot(RebootRequest) returns (RebootResponse);
  rpc Reset(ResetRequest) returns (ResetResponse);
  rpc ServiceList(google.protobuf.Empty) returns (ServiceListResponse);
  rpc ServiceRestart(ServiceRestartRequest) returns (ServiceRestartResponse);
  rpc Shutdown(ShutdownRequest) returns (ShutdownResponse);
  rpc Upgrade(UpgradeRequest) returns (UpgradeResponse);
  rpc Version(google.protobuf.Empty) returns (VersionResponse);
}

message ApplyConfigurationRequest {
  enum Mode { REBOOT = 0; AUTO = 1; NO_REBOOT = 2; STAGED = 3; TRY = 4; }
  bytes data = 1;
  Mode mode = 4;
  bool dry_run = 5;
  google.protobuf.Duration try_mode_timeout = 6;
}
message ApplyConfiguration {
  common.Metadata metadata = 1;
  repeated string warnings = 2;
  ApplyConfigurationRequest.Mode mode = 3;
  string mode_details = 4;
}
message ApplyConfigurationResponse { repeated ApplyConfiguration messages = 1; }

message BootstrapRequest { bool recover_etcd = 1; bool recover_skip_hash_check = 2; }
message Bootstrap { common.Metadata metadata = 1; }
message BootstrapResponse { repeated Bootstrap messages = 1; }

message SequenceEvent {
  enum Action { NOOP = 0; START = 1; STOP = 2; }
  string sequence = 1;
  Action action = 2;
  common.Error error = 3;
}
message PhaseEvent {
  enum Action { START = 0; STOP = 1; }
  string phase = 1;
  Action action = 2;
}
message TaskEvent {
  enum Action { START = 0; STOP = 1; }
  string task = 1;
  Action action = 2;
}
message ServiceStateEvent {
  enum Action { INITIALIZED = 0; PREPARING = 1; WAITING = 2; RUNNING = 3; STOPPING = 4; FINISHED = 5; FAILED = 6; SKIPPED = 7; }
  string service = 1;
  Action action = 2;
  string message = 3;
  ServiceHealth health = 4;
}
message MachineStatusEvent {
  message MachineStatus {
    message UnmetCondition { string name = 1; string reason = 2; }
    bool ready = 1;
    repeated UnmetCondition unmet_conditions = 2;
  }
  enum MachineStage { UNKNOWN = 0; BOOTING = 1; INSTALLING = 2; MAINTENANCE = 3; RUNNING = 4; REBOOTING = 5; SHUTTING_DOWN = 6; RESETTING = 7; UPGRADING = 8; }
  MachineStage stage = 1;
  MachineStatus status = 2;
}
message EventsRequest { int32 tail_events = 1; string tail_id = 2; int32 tail_seconds = 3; string with_actor_id = 4; }
message Event { common.Metadata metadata = 1; google.protobuf.Any data = 2; string id = 3; string actor_id = 4; }

message EtcdMemberListRequest { bool query_local = 1; }
message EtcdMember {
  uint64 id = 2;
  string hostname = 3;
  repeated string peer_urls = 4;
  repeated string client_urls = 5;
  bool is_learner = 6;
}
message EtcdMembers { common.Metadata metadata = 1; repeated string legacy_members = 2; repeated EtcdMember members = 3; }
message EtcdMemberListResponse { repeated EtcdMembers messages = 1; }
message EtcdRemoveMemberByIDRequest { uint64 member_id = 1; }
message EtcdRemoveMemberByID { common.Metadata metadata = 1; }
message EtcdRemoveMemberByIDResponse { repeated EtcdRemoveMemberByID messages = 1; }
message EtcdSnapshotRequest {}
message EtcdRecover { common.Metadata metadata = 1; }
message EtcdRecoverResponse { repeated EtcdRecover messages = 1; }

message ReadRequest { string path = 1; }

message RebootRequest {
  enum Mode { DEFAULT = 0; POWERCYCLE = 1; }
  Mode mode = 1;
}
message Reboot { common.Metadata metadata = 1; string actor_id = 2; }
message RebootResponse { repeated Reboot messages = 1; }

message ResetPartitionSpec { string label = 1; bool wipe = 2; }
message ResetRequest {
  enum WipeMode { ALL = 0; SYSTEM_DISK = 1; USER_DISKS = 2; }
  bool graceful = 1;
  bool reboot = 2;
  repeated ResetPartitionSpec system_partitions_to_wipe = 3;
  repeated string user_disks_to_wipe = 4;
  WipeMode mode = 5;
}
message Reset { common.Metadata metadata = 1; string actor_id = 2; }
message ResetResponse { repeated Reset messages = 1; }

message ShutdownRequest { bool force = 1; }
message Shutdown { common.Metadata metadata = 1; string actor_id = 2; }
message ShutdownResponse { repeated Shutdown messages = 1; }

message UpgradeRequest {
  enum RebootMode { DEFAULT = 0; POWERCYCLE = 1; }
  string image = 1;
  bool preserve = 2;
  bool stage = 3;
  bool force = 4;
  RebootMode reboot_mode = 5;
}
message Upgrade { common.Metadata metadata = 1; string ack = 2; string actor_id = 3; }
message UpgradeResponse { repeated Upgrade messages = 1; }

message ServiceEvent { string msg = 1; string state = 2; google.protobuf.Timestamp ts = 3; }
message ServiceEvents { repeated ServiceEvent events = 1; }
message ServiceHealth { bool unknown = 1; bool healthy = 2; string last_message = 3; google.protobuf.Timestamp last_change = 4; }
message ServiceInfo { string id = 1; string state = 2; ServiceEvents events = 3; ServiceHealth health = 4; }
message ServiceList { common.Metadata metadata = 1; repeated ServiceInfo services = 2; }
message ServiceListResponse { repeated ServiceList messages = 1; }
message ServiceRestartRequest { string id = 1; }
message ServiceRestart { common.Metadata metadata = 1; string resp = 2; }
message ServiceRestartResponse { repeated ServiceRestart messages = 1; }

message VersionInfo { string tag = 1; string sha = 2; string built = 3; string go_version = 4; string os = 5; string arch = 6; }
message PlatformInfo { string name = 1; string mode = 2; }
message FeaturesInfo { bool rbac = 1; }
message Version { common.Metadata metadata = 1; VersionInfo version = 2; PlatformInfo platform = 3; FeaturesInfo features = 4; }
message VersionResponse { repeated Version messages = 1; }
`;

const CLUSTER = `
syntax = "proto3";
package cluster;
service ClusterService {
  rpc HealthCheck(HealthCheckRequest) returns (stream HealthCheckProgress);
}
message HealthCheckRequest { google.protobuf.Duration wait_timeout = 1; ClusterInfo cluster_info = 2; }
message ClusterInfo { repeated string control_plane_nodes = 1; repeated string worker_nodes = 2; string force_endpoint = 3; }
message HealthCheckProgress { common.Metadata metadata = 1; string message = 2; }
`;

/** Talos puts this prefix before the full message name in Event.data.type_url. */
export const EVENT_TYPE_PREFIX = 'talos/runtime/';

let cached: protobuf.Root | undefined;

/** The parsed root (field names in camelCase, as protobufjs and the JSON form of Talos replies use). */
export function talosRoot(): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  for (const source of [GOOGLE, GOOGLE_RPC, COMMON, MACHINE, CLUSTER]) protobuf.parse(source, root);
  root.resolveAll();
  cached = root;
  return root;
}

export function messageType(name: string): protobuf.Type {
  return talosRoot().lookupType(name);
}

export interface MethodInfo {
  service: string;
  name: string;
  path: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  requestStream: boolean;
  responseStream: boolean;
}

/** Every method of a service, e.g. 'machine.MachineService'. */
export function serviceMethods(serviceName: string): MethodInfo[] {
  const service = talosRoot().lookupService(serviceName);
  return service.methodsArray.map((method) => {
    method.resolve();
    return {
      service: serviceName,
      name: method.name,
      path: `/${serviceName}/${method.name}`,
      requestType: method.resolvedRequestType!,
      responseType: method.resolvedResponseType!,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
    };
  });
}

export function method(serviceName: string, name: string): MethodInfo {
  const found = serviceMethods(serviceName).find((m) => m.name === name);
  if (!found) throw new Error(`Unknown method ${serviceName}/${name}`);
  return found;
}

/** Plain object (enum names or numbers, 64-bit integers as strings) → bytes. */
export function encode(type: protobuf.Type, value: object): Buffer {
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

/** Bytes → plain object: enums as names, 64-bit integers as strings, bytes as Buffers, defaults filled in. */
export function decode(type: protobuf.Type, bytes: Uint8Array): Record<string, any> {
  const message = type.decode(bytes);
  const object = type.toObject(message, { enums: String, longs: String, defaults: true, arrays: true });
  return normalizeBytes(object) as Record<string, any>;
}

function normalizeBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(normalizeBytes);
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) (value as Record<string, unknown>)[key] = normalizeBytes(inner);
  }
  return value;
}

/** Packs an event payload into google.protobuf.Any the way Talos does. */
export function packEvent(typeName: string, payload: object): { typeUrl: string; value: Buffer } {
  return { typeUrl: `${EVENT_TYPE_PREFIX}${typeName}`, value: encode(messageType(typeName), payload) };
}

/** Unpacks Event.data; unknown payload types come back as undefined. */
export function unpackEvent(any: { typeUrl?: string; value?: Uint8Array } | null | undefined): { type: string; payload: Record<string, any> } | undefined {
  if (!any?.typeUrl) return undefined;
  const type = any.typeUrl.replace(/^.*\//, '');
  let messageTypeFound: protobuf.Type;
  try {
    messageTypeFound = messageType(type);
  } catch {
    return undefined;
  }
  return { type, payload: decode(messageTypeFound, any.value ?? new Uint8Array()) };
}

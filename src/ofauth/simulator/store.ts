import type { EndpointFamily } from '../endpoints.ts';
import type { MassMessageBody } from '../schemas.ts';
import type { Reach } from './buyers.ts';

export interface SimListInput {
  id: number;
  name: string;
  userIds?: number[];
  /** Member count when the list is synthetic (no userIds). */
  size?: number;
}

/** A chat with one fan, and the chat-list filters it falls under. */
export interface SimChatInput {
  fanId: number;
  priority?: boolean;
  unread?: boolean;
  tipped?: boolean;
  /** When the chat last saw activity (orders the list, most recent first); default by fanId. */
  lastActivityAt?: number;
}

export interface SimConnectionInput {
  id: string;
  status?: 'active' | 'expired';
  lists?: SimListInput[];
  chats?: SimChatInput[];
  /** OFAuth permission names (`messages:write`, …); all granted when omitted. */
  permissions?: string[];
}

export interface SimList {
  id: number;
  name: string;
  size: number;
  /** Explicit members (configured userIds, or users added through the API); null: synthetic (see buyers.ts). */
  members: Set<number> | null;
}

export interface SimChat {
  fanId: number;
  priority: boolean;
  unread: boolean;
  tipped: boolean;
  lastActivityAt: number;
}

export interface SimConnection {
  id: string;
  status: 'active' | 'expired';
  permissions: ReadonlySet<string> | null;
  lists: Map<string, SimList>;
  chats: Map<number, SimChat>;
}

/** A mass message as the simulator keeps it; states are derived from these times by lifecycle.ts. */
export interface StoredMessage {
  id: number;
  connectionId: string;
  /** Family of the create call, for inspection only: both families see every message. */
  createdVia: EndpointFamily;
  body: MassMessageBody;
  createdAt: number;
  updatedAt: number;
  /** When sending starts: scheduledDate, or the creation time when there is none. */
  scheduledAt: number;
  hasScheduledDate: boolean;
  audience: number;
  /** Who it goes to, fixed at create/update (lists may change later): see buyers.ts. Absent on messages seeded directly into the store (no fans, no buyers). */
  reach?: Reach;
  canceledAt: number | null;
  unsentAt: number | null;
  updates: number;
}

/**
 * The sandbox's chats: a few in each filter (priority, unread, who_tipped), some in two, and
 * the VIP list's fans among them, so every chat-filter audience resolves to someone.
 */
const sandboxChats: SimChatInput[] = [
  { fanId: 101, priority: true, tipped: true },
  { fanId: 102, priority: true, unread: true },
  { fanId: 103, unread: true },
  { fanId: 104, tipped: true },
  { fanId: 201, priority: true },
  { fanId: 202, unread: true, tipped: true },
  { fanId: 203, tipped: true },
  { fanId: 204 },
  { fanId: 205, unread: true },
];

/** The sandbox: one connection with a mix of synthetic and explicit lists, and a few chats. */
export const defaultConnections: readonly SimConnectionInput[] = [
  {
    id: 'conn_sandbox',
    lists: [
      { id: 1, name: 'Fans', size: 1200 },
      { id: 2, name: 'Following', size: 300 },
      { id: 3, name: 'VIP', userIds: [101, 102, 103, 104, 105] },
      { id: 4, name: 'Muted', size: 25 },
    ],
    chats: sandboxChats,
  },
];

const FIRST_MESSAGE_ID = 1_000_001;
/** Lists created through the API; far above configured ids so they never collide. */
const FIRST_CREATED_LIST_ID = 900_001;

/** In-memory state shared by both path families. */
export class SimStore {
  readonly connections = new Map<string, SimConnection>();
  readonly messages = new Map<number, StoredMessage>();
  readonly #connectionInputs: readonly SimConnectionInput[];
  #nextId = FIRST_MESSAGE_ID;
  #nextListId = FIRST_CREATED_LIST_ID;

  constructor(connections: readonly SimConnectionInput[]) {
    this.#connectionInputs = connections;
    this.reset();
  }

  /** Back to the configured connections, no messages, ids from the start. */
  reset(): void {
    this.connections.clear();
    this.messages.clear();
    this.#nextId = FIRST_MESSAGE_ID;
    this.#nextListId = FIRST_CREATED_LIST_ID;
    for (const input of this.#connectionInputs) this.addConnection(input);
  }

  addConnection(input: SimConnectionInput): SimConnection {
    const lists = new Map<string, SimList>();
    for (const list of input.lists ?? []) {
      const size = list.userIds !== undefined ? new Set(list.userIds).size : (list.size ?? 0);
      lists.set(String(list.id), { id: list.id, name: list.name, size, members: list.userIds !== undefined ? new Set(list.userIds) : null });
    }
    const chats = new Map<number, SimChat>();
    for (const chat of input.chats ?? []) chats.set(chat.fanId, toSimChat(chat));
    const connection: SimConnection = {
      id: input.id,
      status: input.status ?? 'active',
      permissions: input.permissions === undefined ? null : new Set(input.permissions),
      lists,
      chats,
    };
    this.connections.set(input.id, connection);
    return connection;
  }

  /** A new, empty list with explicit members (POST /v2/access/users/lists). Names may repeat, as nothing says OFAuth refuses that. */
  createList(connection: SimConnection, name: string): SimList {
    const list: SimList = { id: this.#nextListId++, name, size: 0, members: new Set() };
    connection.lists.set(String(list.id), list);
    return list;
  }

  nextMessageId(): number {
    return this.#nextId++;
  }

  messagesOf(connectionId?: string): StoredMessage[] {
    const all = [...this.messages.values()];
    return connectionId === undefined ? all : all.filter((m) => m.connectionId === connectionId);
  }

  /** A message of this connection, or undefined (other connections' ids are invisible). */
  findMessage(connectionId: string, id: number): StoredMessage | undefined {
    const message = this.messages.get(id);
    return message?.connectionId === connectionId ? message : undefined;
  }
}

export function toSimChat(chat: SimChatInput): SimChat {
  return { fanId: chat.fanId, priority: chat.priority ?? false, unread: chat.unread ?? false, tipped: chat.tipped ?? false, lastActivityAt: chat.lastActivityAt ?? chat.fanId };
}

/**
 * Audience size as the contract's assumption has it: userIds plus list sizes minus excluded
 * list sizes. Arithmetic rather than set algebra because synthetic lists have no members.
 */
export function computeAudience(connection: SimConnection, body: MassMessageBody): number {
  const userIds = new Set((body.userIds ?? []).map(String)).size;
  const sizeOf = (ids: (number | string)[] | undefined) =>
    [...new Set((ids ?? []).map(String))].reduce((sum, id) => sum + (connection.lists.get(id)?.size ?? 0), 0);
  return Math.max(0, userIds + sizeOf(body.userLists) - sizeOf(body.excludeUserLists));
}

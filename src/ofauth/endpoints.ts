/**
 * OFAuth documents the mass-message queue twice (the messaging guide's `/messages/queue*` and the
 * API reference's `/mass-messages*`). Both are kept here as one map so the client picks a family
 * by configuration and nothing else in the code knows which one is live.
 */

export type EndpointFamily = 'queue' | 'mass-messages';

export type OperationName =
  | 'createMassMessage'
  | 'updateMassMessage'
  | 'deleteMassMessage'
  | 'getMassMessage'
  | 'listMassMessages'
  | 'listUserLists'
  | 'getUserList'
  | 'createUserList'
  | 'addUserToList'
  | 'listMassMessageBuyers'
  | 'listChats'
  | 'sendChatMessage'
  | 'listChatMessages'
  | 'deleteChatMessage'
  | 'deleteChatMessageInChat';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Endpoint {
  method: HttpMethod;
  /** Path template; `{id}` (and `{userId}`) are the placeholders. Also used as the metrics/log route label. */
  route: string;
}

const userListEndpoints = {
  listUserLists: { method: 'GET', route: '/v2/access/users/lists' },
  getUserList: { method: 'GET', route: '/v2/access/users/lists/{id}' },
  createUserList: { method: 'POST', route: '/v2/access/users/lists' },
  addUserToList: { method: 'POST', route: '/v2/access/users/lists/{id}/users/{userId}' },
  // Contract §3.6: the same path whichever family the queue uses.
  listMassMessageBuyers: { method: 'GET', route: '/v2/access/analytics/mass-messages/{id}/buyers' },
  // The messaging guide's chat list (seed 000); one path in both families.
  listChats: { method: 'GET', route: '/v2/access/chats' },
} as const satisfies Partial<Record<OperationName, Endpoint>>;

/**
 * One fan's chat (contract §3.11): the same in both families. Unsend has two documented paths:
 * the messaging guide's (deleteChatMessage, tried first) and the SDK's (deleteChatMessageInChat,
 * the fallback when the first answers 404 ROUTE_NOT_FOUND).
 */
const chatEndpoints = {
  sendChatMessage: { method: 'POST', route: '/v2/access/chats/{userId}/messages' },
  listChatMessages: { method: 'GET', route: '/v2/access/chats/{userId}/messages' },
  deleteChatMessage: { method: 'DELETE', route: '/v2/access/messages/{id}' },
  deleteChatMessageInChat: { method: 'DELETE', route: '/v2/access/chats/{userId}/messages/{id}' },
} as const satisfies Partial<Record<OperationName, Endpoint>>;

/** Every operation the client performs, per path family. */
export const endpointFamilies: Readonly<Record<EndpointFamily, Readonly<Record<OperationName, Endpoint>>>> = {
  queue: {
    createMassMessage: { method: 'POST', route: '/v2/access/messages/queue' },
    listMassMessages: { method: 'GET', route: '/v2/access/messages/queue/stats' },
    getMassMessage: { method: 'GET', route: '/v2/access/messages/queue/{id}' },
    updateMassMessage: { method: 'PUT', route: '/v2/access/messages/queue/{id}' },
    deleteMassMessage: { method: 'DELETE', route: '/v2/access/messages/queue/{id}' },
    ...userListEndpoints,
    ...chatEndpoints,
  },
  'mass-messages': {
    createMassMessage: { method: 'POST', route: '/v2/access/mass-messages' },
    listMassMessages: { method: 'GET', route: '/v2/access/mass-messages' },
    getMassMessage: { method: 'GET', route: '/v2/access/mass-messages/{id}' },
    updateMassMessage: { method: 'PUT', route: '/v2/access/mass-messages/{id}' },
    deleteMassMessage: { method: 'DELETE', route: '/v2/access/mass-messages/{id}' },
    ...userListEndpoints,
    ...chatEndpoints,
  },
};

/** Operations that change state on OFAuth; their outcome is unknown when the answer is lost. */
export const mutatingOperations: ReadonlySet<OperationName> = new Set([
  'createMassMessage',
  'updateMassMessage',
  'deleteMassMessage',
  'createUserList',
  'sendChatMessage',
  'deleteChatMessage',
  'deleteChatMessageInChat',
]);

/**
 * Creates with no idempotency key: a 5xx or an unreadable 2xx may follow a commit, so they are
 * never replayed and come back 'ambiguous' (the caller searches before creating again). Adding a
 * user to a list is not here: it is taken to be idempotent (the answer's userState.hasUser), so
 * replaying it is safe. A chat message is a create too: a replay could deliver it twice.
 */
export const unkeyedCreates: ReadonlySet<OperationName> = new Set(['createMassMessage', 'createUserList', 'sendChatMessage']);

/** Parses an OFAUTH_ENDPOINTS value; anything but the two known names is a configuration error. */
export function parseEndpointFamily(value: string | undefined): EndpointFamily {
  if (value === undefined || value === '') return 'queue';
  if (value === 'queue' || value === 'mass-messages') return value;
  throw new Error(`OFAUTH_ENDPOINTS must be "queue" or "mass-messages", got "${value}"`);
}

/** Fills a route template; ids are URL-encoded because list ids may be non-numeric strings. */
export function buildPath(route: string, params: { id?: string | number; userId?: string | number } = {}): string {
  let path = route;
  for (const name of ['id', 'userId'] as const) {
    if (!path.includes(`{${name}}`)) continue;
    const value = params[name];
    if (value === undefined || String(value) === '') throw new Error(`route ${route} needs ${name}`);
    path = path.replace(`{${name}}`, encodeURIComponent(String(value)));
  }
  return path;
}

// The only module that talks to the API and knows its answer shapes. Answers that are lists arrive either as a bare
// array or wrapped in an envelope { from, to, bucket, asOf, lag, items }; items() reads both.

const KeyStorage = 'analytics.console.apiKey';

export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KeyStorage),
  set: (key: string): void => sessionStorage.setItem(KeyStorage, key),
  clear: (): void => sessionStorage.removeItem(KeyStorage),
};

export class ApiError extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
  }
}

export interface Proportion { successes: number; trials: number; rate: number | null; lower: number | null; upper: number | null }
export interface ModelVersion { modelId: string; version: string; responses: number; firstSeen: string; lastSeen: string }
export interface Cell {
  modelId: string; version: string; capability: string; responses: number; rated: number; up: number; down: number;
  regenerations: number; meanLatencyMs: number | null; satisfaction: Proportion; ratingRate: Proportion;
}
export interface Point { bucket: string; responses: number; rated: number; up: number; down: number; satisfaction: Proportion; ratingRate: Proportion }
export interface ReasonCount { reason: string; count: number }
export interface RatedModel {
  model: string; rating: number; lower: number; upper: number; rank: number; comparisons: number;
  toLeader?: { difference: number; lower: number; upper: number };
}
export interface Leaderboard { capability: string; anchor?: string; leader?: string; comparisons?: number; models: RatedModel[]; envelope: Envelope }
export interface HeadToHead { modelA: string; modelB: string; aWins: number; bWins: number; ties: number; bothBad: number; aWinShare: Proportion }
export interface Evidence {
  baselineKind: string; baselineVersion: string; baselineRated: number; baselineDown: number; baselineDownRate: number;
  baselineLower: number; baselineUpper: number; windowStart: string; windowEnd: string; windowRated: number; windowDown: number;
  windowDownRate: number; windowLower: number; windowUpper: number; statistic: number; threshold: number; shift: number;
  dispersion: number; pValue: number;
}
export interface Alert {
  alertId: string; modelId: string; modelVersion: string; capability: string; state: string; detectedAt: string;
  resolvedAt: string | null; acknowledgedAt: string | null; acknowledgedBy: string | null; acknowledgementNote: string | null;
  evidence: Evidence; resolvedEvidence: Evidence | null;
}
export interface AlertHistoryEntry { version: number; type: string; timestamp: string; data: Record<string, unknown> }
export interface AlertDetail { alert: Alert; history: AlertHistoryEntry[] }
export interface Cluster {
  clusterId: string; modelId: string; capability: string; reason: string; label: string; size: number; thisWindow: number;
  lastWindow: number; growth: number | null; isNew: boolean; isGrowing: boolean; state: string; severity: string | null;
  category: string | null; assignee: string | null; fixReference: string | null; version: number; openedAt: string;
  firstItemAt: string; lastItemAt: string;
}
export interface ClusterSample { turnId: string; conversationId: string; modelVersion: string; comment: string | null; promptExcerpt: string | null; reasons: string[]; similarity: number; occurredAt: string }
export interface ClusterDetail { cluster: Cluster; asOf: string; samples: ClusterSample[]; daily: { day: string; items: number }[] }
export interface TriageHistoryEntry { version: number; event: string; actor: string; at: string; storedAt: string; details: Record<string, string | null> }
export interface ConversationItem { conversationId: string; itemId: string; occurredAt: string; model: string; capabilities: string[]; rating: string | null; reasons: string[]; comment: string | null; detail: string | null }
export interface ConversationPage { items: ConversationItem[]; next: string | null }
export interface Turn {
  turnId: string; turnIndex: number; occurredAt: string; modelId: string; modelVersion: string; modelVariant: string | null;
  capabilities: string[]; latencyMs: number; regeneratedFrom: string | null; promptExcerpt: string | null; responseExcerpt: string | null;
  rating: { rating: string; reasons: string[]; comment: string | null; occurredAt: string } | null;
}
export interface Conversation {
  conversationId: string; startedAt: string | null; surface: string | null; locale: string | null; customInstructions: boolean | null;
  experimentId: string | null; experimentArm: string | null; turns: Turn[]; comparisons: { comparisonId: string; occurredAt: string; aModel: string; bModel: string; preferred: string; capabilities: string[]; reasons: string[] }[];
}
export interface StoredEvent { eventId: string; version: number; sequence: number; type: string; storedAt: string; data: Record<string, unknown> }
export interface Me { name: string; role: string; canTriage: boolean }
export interface Pipeline {
  readAt: string; eventsStored: number; eventsDuplicate: number; refusedByReason: { label: string; value: number }[];
  projections: { projection: string; lagEvents: number; lagSeconds: number; deadLetters: number }[];
  queueDepths: { label: string; value: number }[]; sources: { url: string; up: boolean; error: string | null }[];
}

/** What an envelope says about a list answer (empty for a bare array). */
export interface Envelope { from?: string; to?: string; bucket?: string; asOf?: string | null; lag?: { events: number; seconds: number } | null }

export function items<T>(body: unknown): { items: T[]; envelope: Envelope } {
  if (Array.isArray(body)) return { items: body as T[], envelope: {} };
  const wrapped = body as Envelope & { items?: T[] };
  return { items: wrapped.items ?? [], envelope: wrapped };
}

type Query = Record<string, string | number | boolean | null | undefined>;

function url(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void { onUnauthorized = handler; }

async function call<T>(method: string, path: string, query?: Query, body?: unknown, key = apiKey.get()): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (key) headers['X-Api-Key'] = key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) {
    onUnauthorized();
    throw new ApiError(401, 'The API key was not accepted; sign in again.');
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json() as { title?: string; detail?: string };
      message = [problem.title, problem.detail].filter(Boolean).join(': ') || message;
    } catch { /* not problem details */ }
    throw new ApiError(response.status, message);
  }
  return await response.json() as T;
}

const get = <T>(path: string, query?: Query): Promise<T> => call<T>('GET', path, query);
const list = async <T>(path: string, query?: Query): Promise<T[]> => items<T>(await get<unknown>(path, query)).items;

export const api = {
  me: (key?: string) => call<Me>('GET', '/api/me', undefined, undefined, key ?? apiKey.get()),
  models: () => list<ModelVersion>('/api/models'),
  matrix: (q: Query) => list<Cell>('/api/satisfaction/matrix', q),
  overTime: (q: Query) => list<Point>('/api/satisfaction/over-time', q),
  reasons: (q: Query) => list<ReasonCount>('/api/satisfaction/reasons', q),
  leaderboard: async (q: Query): Promise<Leaderboard> => {
    // Read both shapes: { models: [...] } and the envelope { ..., anchor, leader, items: [...] }.
    const body = await get<Omit<Leaderboard, 'models' | 'envelope'> & Envelope & { models?: RatedModel[]; items?: RatedModel[] }>('/api/comparisons/leaderboard', q);
    return { ...body, models: body.items ?? body.models ?? [], envelope: body };
  },
  /** A list answer with what its envelope says (effective window, asOf, lag). */
  matrixWithEnvelope: async (q: Query) => items<Cell>(await get<unknown>('/api/satisfaction/matrix', q)),
  headToHead: (q: Query) => list<HeadToHead>('/api/comparisons/head-to-head', q),
  alerts: (q: Query) => list<Alert>('/api/alerts', q),
  alert: (id: string) => get<AlertDetail>(`/api/alerts/${encodeURIComponent(id)}`),
  acknowledge: (id: string, note: string | null) => call<AlertDetail>('POST', `/api/alerts/${encodeURIComponent(id)}/acknowledge`, undefined, { note }),
  clusters: (q: Query) => list<Cluster>('/api/triage/clusters', q),
  cluster: (id: string) => get<ClusterDetail>(`/api/triage/clusters/${encodeURIComponent(id)}`),
  clusterHistory: (id: string) => list<TriageHistoryEntry>(`/api/triage/clusters/${encodeURIComponent(id)}/history`),
  triage: (id: string, action: 'assign' | 'label' | 'notes' | 'resolve', body: Record<string, unknown>) =>
    call<{ clusterId: string; version: number; event: string }>('POST', `/api/triage/clusters/${encodeURIComponent(id)}/${action}`, undefined, body),
  conversations: (q: Query) => get<ConversationPage>('/api/conversations', q),
  conversation: (id: string) => get<Conversation>(`/api/conversations/${encodeURIComponent(id)}`),
  conversationEvents: (id: string) => list<StoredEvent>(`/api/conversations/${encodeURIComponent(id)}/events`),
  pipeline: () => get<Pipeline>('/api/pipeline'),
};

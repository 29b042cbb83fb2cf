// The console's shell: sign-in with an API key (sessionStorage), navigation, and the router that draws a page from
// the URL's path and query string. The same paths are served by the API host (src/Analytics.Api/ConsolePages.cs).
import './console.css';
import { api, apiKey, whenUnauthorized, ApiError, type Me } from './api';
import { h, replace } from './dom';
import type { Context, Page } from './shared';
import { overview } from './pages/overview';
import { modelVersion } from './pages/model';
import { comparisons } from './pages/comparisons';
import { regressions } from './pages/regressions';
import { triage } from './pages/triage';
import { conversationList, conversation } from './pages/conversations';
import { pipeline } from './pages/pipeline';

const nav: [string, string][] = [
  ['/overview', 'Overview'], ['/model', 'Model version'], ['/comparisons', 'Comparisons'], ['/regressions', 'Regressions'],
  ['/clusters', 'Triage'], ['/conversations', 'Conversations'], ['/pipeline', 'Pipeline'],
];

function route(path: string): { page: Page; section: string } {
  const id = /^\/conversations\/([0-9a-fA-F-]{36})$/.exec(path);
  if (id) return { page: (root, params, ctx) => conversation(root, params, ctx, id[1]!), section: '/conversations' };
  switch (path) {
    case '/model': return { page: modelVersion, section: path };
    case '/comparisons': return { page: comparisons, section: path };
    case '/regressions': return { page: regressions, section: path };
    case '/clusters': return { page: triage, section: path };
    case '/conversations': return { page: conversationList, section: path };
    case '/pipeline': return { page: pipeline, section: path };
    default: return { page: overview, section: '/overview' };
  }
}

const app = document.getElementById('app')!;
let me: Me | null = null;
let cleanups: (() => void)[] = [];

function leave(): void {
  for (const c of cleanups) c();
  cleanups = [];
}

function navigate(url: string): void {
  history.pushState(null, '', url);
  void draw();
}

async function draw(): Promise<void> {
  leave();
  if (!apiKey.get()) return signIn();
  // Whose key this is (for the header and the role-aware actions) is asked beside the page's own requests, not before
  // them: the page starts at once, and only its actions wait on ctx.me.
  const who = me ? Promise.resolve(me) : api.me();
  const { page, section } = route(location.pathname);
  const main = h('main', { id: 'main', tabindex: '-1' });
  const role = h('span', { id: 'role' }, 'Signed in');
  replace(app, shell(section, role), main);
  const ctx: Context = { me: who, navigate, onLeave: c => cleanups.push(c) };
  document.title = `${nav.find(([p]) => p === section)?.[1] ?? 'Console'} · Analytics console`;
  const drawn = Promise.resolve(page(main, new URLSearchParams(location.search), ctx));
  try {
    me = await who;
  } catch (error) {
    drawn.catch(() => undefined); // its requests fail the same way; the page is replaced below
    if (error instanceof ApiError && error.status === 401) return signIn('The stored API key was not accepted.');
    replace(app, h('main', { id: 'main' }, h('p', { role: 'alert', class: 'state error' }, `The API does not answer: ${(error as Error).message}`)));
    return;
  }
  role.title = me.name;
  role.textContent = `Signed in: ${me.role}`;
  await drawn;
  document.body.dataset['ready'] = location.pathname + location.search;
}

function shell(section: string, role: HTMLElement): HTMLElement {
  return h('header', { class: 'top' },
    h('a', { class: 'brand', href: '/overview' }, 'Analytics'),
    h('nav', { 'aria-label': 'Pages' }, h('ul', null, nav.map(([path, label]) =>
      h('li', null, h('a', { href: path, 'aria-current': path === section ? 'page' : null }, label))))),
    h('div', { class: 'who' },
      role,
      h('button', { type: 'button', id: 'sign-out', onclick: () => { apiKey.clear(); me = null; void draw(); } }, 'Sign out')));
}

function signIn(message?: string): void {
  const input = h('input', { id: 'api-key', name: 'apiKey', type: 'password', autocomplete: 'off', required: true });
  const status = h('p', { id: 'sign-in-status', role: 'status' }, message ?? '');
  const form = h('form', { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Analytics console'),
    h('p', null, 'Sign in with an API key (header X-Api-Key). It stays in this browser tab only (sessionStorage).'),
    h('label', { for: 'api-key' }, 'API key'), input,
    h('button', { type: 'submit', id: 'sign-in' }, 'Sign in'), status);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    status.textContent = 'Checking…';
    try {
      me = await api.me(input.value.trim());
      apiKey.set(input.value.trim());
      await draw();
    } catch (error) {
      status.textContent = error instanceof ApiError && error.status === 401 ? 'That API key is not known.' : `Sign-in failed: ${(error as Error).message}`;
    }
  });
  replace(app, h('main', { id: 'main' }, form));
  input.focus();
}

whenUnauthorized(() => { apiKey.clear(); me = null; });

document.addEventListener('click', e => {
  const a = (e.target as Element).closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/triage') || url.hash) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => void draw());
void draw();

import './style.css';
import { createClient, GraphQLRequestError, type Exchange } from './client';
import { RenameUserDocument, UserDocument, UsersDocument, type UserFieldsFragment } from './gql/graphql';

/*
 * The page: the users with ids 1..N (one `Users` query), a form that renames one
 * (`RenameUser`), and then a fresh `User` query — a new request, no client cache —
 * whose answer is what the page shows: the write-through promise, visible.
 *
 * ?api=<url> picks the API (else VITE_API_URL at build time, else localhost:4000);
 * ?count=N how many ids to list (default 20, at most 100).
 */

type User = UserFieldsFragment;

const TOKEN_KEY = 'throughline.example.token';
const params = new URLSearchParams(location.search);
const apiUrl = params.get('api') || import.meta.env.VITE_API_URL || 'http://localhost:4000/graphql';
const count = Math.min(100, Math.max(1, Math.trunc(Number(params.get('count'))) || 20));

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const app = $('app');
const tokenInput = $<HTMLInputElement>('token');
const tbody = $<HTMLTableElement>('users').tBodies[0]!;
const form = $<HTMLFormElement>('edit-form');
const nameInput = $<HTMLInputElement>('edit-name');
const saveButton = $<HTMLButtonElement>('save');

const cleanToken = (text: string) => text.trim().replace(/^Bearer\s+/i, '');

const client = createClient({
  url: apiUrl,
  token: () => cleanToken(tokenInput.value) || undefined,
  onExchange: logExchange,
});

/** The user being renamed, as the page last showed it (its version goes back as expectedVersion). */
let editing: User | undefined;

// ---------------------------------------------------------------- users

async function loadUsers(): Promise<void> {
  setState('loading');
  try {
    const ids = Array.from({ length: count }, (_, i) => String(i + 1));
    const { users } = await client.request(UsersDocument, { ids });
    renderUsers(users.filter((user): user is User => user !== null));
    hideBanner();
    setState('ready');
  } catch (problem) {
    showProblem(problem);
  }
}

function renderUsers(users: User[]): void {
  tbody.replaceChildren(...users.map(userRow));
  $('no-users').hidden = users.length > 0;
}

function userRow(user: User): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.id = user.id;
  for (const [className, text] of [
    ['id num', user.id],
    ['name', user.name],
    ['email', user.email],
    ['version num', String(user.version)],
    ['updated', clockOf(user.updatedAt)],
  ] as const) {
    const td = document.createElement('td');
    td.className = className;
    td.textContent = text;
    tr.appendChild(td);
  }
  tr.cells[4]!.title = when(user.updatedAt);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'edit link';
  button.textContent = 'Rename';
  button.addEventListener('click', () => startEditing(user));
  const td = document.createElement('td');
  td.appendChild(button);
  tr.appendChild(td);
  if (editing?.id === user.id) tr.classList.add('selected');
  return tr;
}

/** Puts the freshly read user in place of its row, marked as just changed. */
function replaceRow(user: User): void {
  const old = tbody.querySelector<HTMLTableRowElement>(`tr[data-id="${CSS.escape(user.id)}"]`);
  const row = userRow(user);
  row.classList.add('changed');
  if (old) old.replaceWith(row);
  else tbody.appendChild(row);
}

// ---------------------------------------------------------------- rename

function startEditing(user: User): void {
  editing = user;
  for (const tr of tbody.rows) tr.classList.toggle('selected', tr.dataset.id === user.id);
  $('pick').hidden = true;
  form.hidden = false;
  $('edit-id').textContent = user.id;
  $('edit-version').textContent = String(user.version);
  nameInput.value = user.name;
  nameInput.focus();
  nameInput.select();
}

function stopEditing(): void {
  editing = undefined;
  for (const tr of tbody.rows) tr.classList.remove('selected');
  form.hidden = true;
  $('pick').hidden = false;
}

form.addEventListener('submit', (event) => {
  event.preventDefault(); // never a real submission: the page does not reload
  void save();
});
$('cancel').addEventListener('click', stopEditing);
$('reload').addEventListener('click', () => void loadUsers());

async function save(): Promise<void> {
  if (!editing) return;
  if (!cleanToken(tokenInput.value)) {
    showBanner('Renaming needs a token with the write scope: paste one above.');
    tokenInput.focus();
    return;
  }
  const { id, version } = editing;
  setState('saving');
  saveButton.disabled = true;
  try {
    await client.request(RenameUserDocument, { id, name: nameInput.value.trim(), expectedVersion: version });
    // What the page shows next comes from a new query, not from the mutation's answer:
    // the cache was written through, so this read already sees the new name.
    const { user } = await client.request(UserDocument, { id });
    if (!user) throw new GraphQLRequestError(`User ${id} is gone.`, 'NOT_FOUND');
    showReadBack(user);
    replaceRow(user);
    stopEditing();
    hideBanner();
    setState('saved');
  } catch (problem) {
    showProblem(problem);
    if (problem instanceof GraphQLRequestError && problem.code === 'CONFLICT') void loadUsers();
  } finally {
    saveButton.disabled = false;
  }
}

function showReadBack(user: User): void {
  const box = $('readback');
  box.hidden = false;
  box.dataset.id = user.id;
  box.dataset.version = String(user.version);
  $('readback-name').textContent = user.name;
  $('readback-version').textContent = String(user.version);
  $('readback-updated').textContent = when(user.updatedAt);
}

// ---------------------------------------------------------------- chrome

function setState(state: 'loading' | 'ready' | 'saving' | 'saved' | 'error'): void {
  app.dataset.state = state;
}

function showProblem(problem: unknown): void {
  setState('error');
  if (!(problem instanceof GraphQLRequestError)) return showBanner(String(problem));
  const hints: Record<string, string> = {
    UNAUTHENTICATED: 'The token was refused: paste a current one.',
    FORBIDDEN: 'The token lacks the write scope.',
    CONFLICT: 'Someone changed this user in the meantime: the list is reloaded, try again.',
    PERSISTED_QUERY_NOT_IN_SAFELIST: 'The API runs a safelist without this operation: regenerate persisted-queries.json (npm run persisted-queries) and redeploy.',
  };
  const hint = problem.code ? hints[problem.code] : undefined;
  showBanner(`${problem.code ? `${problem.code}: ` : ''}${problem.message}${hint ? ` ${hint}` : ''}`);
}

function showBanner(text: string): void {
  const banner = $('banner');
  banner.textContent = text;
  banner.hidden = false;
}

function hideBanner(): void {
  $('banner').hidden = true;
}

function logExchange({ operationName, hash, sent, outcome }: Exchange): void {
  const li = document.createElement('li');
  Object.assign(li.dataset, { operation: operationName, sent, outcome });
  const time = document.createElement('time');
  time.className = 'muted';
  time.textContent = clockOf(new Date().toISOString());
  const name = document.createElement('code');
  name.textContent = operationName;
  const id = document.createElement('code');
  id.className = 'muted';
  id.textContent = hash ? hash.slice(0, 10) : '';
  id.title = hash ? `sha256 ${hash}` : 'no WebCrypto here: the text is sent each time';
  const detail = document.createElement('span');
  detail.textContent = `sent ${sent} →`;
  const result = document.createElement('span');
  result.className = outcome === 'ok' ? 'ok' : outcome === 'PERSISTED_QUERY_NOT_FOUND' ? 'muted' : 'bad';
  result.textContent = outcome;
  li.append(time, name, id, detail, result);
  const log = $('log');
  log.appendChild(li);
  while (log.children.length > 8) log.firstElementChild!.remove();
}

const clockOf = (iso: string) => new Date(iso).toLocaleTimeString([], { hour12: false });
const when = (iso: string) => new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium', hour12: false });

// ---------------------------------------------------------------- go

$('api-url').textContent = apiUrl;
$('count').textContent = String(count);
tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
tokenInput.addEventListener('input', () => {
  const token = cleanToken(tokenInput.value);
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
});
void loadUsers();

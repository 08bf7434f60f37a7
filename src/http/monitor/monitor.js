/*
 * Throughline /monitor — plain browser JavaScript, no build step (served by
 * src/http/monitor-route.ts, next to graphql-ws's browser build as /monitor/graphql-ws.js).
 *
 * Signed out (no token): a sign-in form, and nothing else — no request, no socket.
 * Signed in: the page's GraphQL operations from /monitor/operations.json (the file
 * scripts/generate-persisted-queries.ts puts in the safelist, so what is sent here is
 * what the safelist holds), then one POST /graphql for cacheStatus and the unrepaired
 * failures, then the writeThroughFailures subscription over graphql-ws (resuming
 * `after` the last event seen when the socket comes back), and cacheStatus again
 * every five seconds.
 * The token lives in sessionStorage and goes only into the Authorization header and
 * the graphql-ws connectionParams: never into a URL, never to the console.
 */
(function () {
  'use strict';

  const TOKEN_KEY = 'throughline.monitor.token';
  const POLL_MS = 5000;
  const MAX_ROWS = 500;
  const AUTH_CODES = ['UNAUTHENTICATED', 'FORBIDDEN'];

  const $ = (id) => document.getElementById(id);
  const app = $('app');
  const tbody = $('failures').tBodies[0];

  /** The signed-in session, or null. Callbacks of an older session check and bow out. */
  let session = null;

  /**
   * The operations, name → exact text (MonitorStatus, MonitorUnrepaired, Monitor), sent
   * as they are: a production server with a safelist runs only texts it lists. Loaded
   * once, on the first sign-in; until then, null.
   */
  let ops = null;

  async function loadOperations() {
    if (ops) return;
    let response;
    try {
      response = await fetch('/monitor/operations.json', { cache: 'no-store', credentials: 'omit' });
    } catch {
      throw { auth: false, message: 'The service does not answer.' };
    }
    if (!response.ok) throw { auth: false, message: `The page's operations did not load (HTTP ${response.status}).` };
    ops = await response.json();
  }

  // ---------------------------------------------------------------- token, sign-in

  /** A token from `#token=…` (then dropped from the address bar), or the tab's stored one. */
  function takeToken() {
    const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (match) {
      history.replaceState(null, '', location.pathname);
      let token = '';
      try {
        token = cleanToken(decodeURIComponent(match[1]));
      } catch {
        // a malformed %-escape: no token, so the sign-in form
      }
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  const cleanToken = (text) => text.trim().replace(/^Bearer\s+/i, '');

  function showSignIn(message) {
    stop();
    sessionStorage.removeItem(TOKEN_KEY);
    clearFailures();
    setConnection('signed-out', 'Signed out');
    $('dashboard').hidden = true;
    $('sign-out').hidden = true;
    $('sign-in').hidden = false;
    if (message) showBanner(message, 'auth');
    else hideBanner();
    $('token').focus();
  }

  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault(); // never a form submission: it would put the token in a URL
    const token = cleanToken($('token').value);
    $('token').value = '';
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    start(token);
  });

  $('sign-out').addEventListener('click', () => showSignIn());

  window.addEventListener('hashchange', () => {
    if (/(?:^#|&)token=/.test(location.hash)) {
      const token = takeToken();
      if (token) start(token);
    }
  });

  // ---------------------------------------------------------------- session

  function start(token) {
    stop();
    const s = { token, client: null, unsubscribe: null, payload: null, lastEventId: 0, connectedOnce: false, poll: 0, retry: 0, rows: new Map() };
    session = s;
    clearFailures();
    hideBanner();
    $('sign-in').hidden = true;
    $('dashboard').hidden = false;
    $('sign-out').hidden = false;
    setConnection('connecting', 'Connecting…');
    void begin(s);
  }

  function stop() {
    const s = session;
    session = null; // first, so that what dispose() sets off is ignored
    if (!s) return;
    clearTimeout(s.poll);
    clearTimeout(s.retry);
    if (s.unsubscribe) s.unsubscribe();
    if (s.client) void s.client.dispose();
  }

  /**
   * The status, then the unrepaired failures, over HTTP, then the live subscription
   * after the newest event the status saw. In that order, a failure recorded at any
   * moment is in the list, or comes live (or both: rows are kept by failure id).
   */
  async function begin(s) {
    let data;
    try {
      await loadOperations();
      const status = await gql(s, ops.MonitorStatus);
      data = { ...status, ...(await gql(s, ops.MonitorUnrepaired)) };
      s.lastEventId = Math.max(s.lastEventId, Number(status.cacheStatus.lastEventId));
    } catch (problem) {
      if (s !== session) return;
      if (problem.auth) return showSignIn(problem.message);
      setConnection('offline', 'Not connected');
      showBanner(`${problem.message} Retrying…`, 'http');
      s.retry = setTimeout(() => begin(s), POLL_MS);
      return;
    }
    if (s !== session) return;
    hideBanner('http');
    renderStatus(data.cacheStatus);
    for (const event of data.unrepairedWriteThroughFailures) addEvent(s, event, false);
    subscribe(s);
    schedulePoll(s, POLL_MS);
  }

  function subscribe(s) {
    if (typeof graphqlWs === 'undefined') {
      showBanner('graphql-ws.js did not load: no live updates.', 'ws');
      return;
    }
    // graphql-ws sends this same object again when it resubscribes after a
    // reconnect, so keeping `after` current here resumes right after the last event
    // seen. (In a log with no events yet, only new ones come.)
    s.payload = { query: ops.Monitor, variables: s.lastEventId > 0 ? { after: String(s.lastEventId) } : {} };
    s.client = graphqlWs.createClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
      connectionParams: { authorization: `Bearer ${s.token}` },
      lazy: false,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(30000, 500 * 2 ** retries) + Math.random() * 500)),
      onNonLazyError: (err) => s === session && subscriptionFailed(s, closeProblem(err)),
      on: {
        connected: () => {
          if (s !== session) return;
          hideBanner('ws');
          setConnection('live', 'Live');
          if (s.connectedOnce) void resync(s);
          s.connectedOnce = true;
        },
        closed: () => {
          if (s !== session) return;
          setConnection('reconnecting', 'Reconnecting…');
        },
      },
    });
    s.unsubscribe = s.client.subscribe(s.payload, {
      next: (result) => {
        if (s !== session) return;
        if (result.errors) subscriptionFailed(s, problemOf(result.errors));
        else if (result.data) addEvent(s, result.data.writeThroughFailures, true);
      },
      error: (err) => s === session && subscriptionFailed(s, Array.isArray(err) ? problemOf(err) : closeProblem(err)),
      complete: () => {},
    });
  }

  /** A refused token signs out; anything else is shown, and the subscription tried again. */
  function subscriptionFailed(s, problem) {
    if (problem.auth) return showSignIn(problem.message);
    setConnection('offline', 'Not connected');
    showBanner(`Live updates stopped: ${problem.message} Retrying…`, 'ws');
    if (s.unsubscribe) s.unsubscribe();
    if (s.client) void s.client.dispose();
    s.client = null;
    s.unsubscribe = null;
    clearTimeout(s.retry);
    s.retry = setTimeout(() => s === session && subscribe(s), POLL_MS);
  }

  /** Back after a drop: the status now, and the table too if no event id was known to resume from. */
  async function resync(s) {
    schedulePoll(s, 0);
    if (s.lastEventId > 0) return;
    try {
      const data = await gql(s, ops.MonitorUnrepaired);
      if (s === session) for (const event of data.unrepairedWriteThroughFailures) addEvent(s, event, false);
    } catch (problem) {
      if (s === session && problem.auth) showSignIn(problem.message);
    }
  }

  function schedulePoll(s, delay) {
    clearTimeout(s.poll);
    s.poll = setTimeout(() => void pollStatus(s), delay);
  }

  async function pollStatus(s) {
    try {
      const data = await gql(s, ops.MonitorStatus);
      if (s !== session) return;
      hideBanner('http');
      renderStatus(data.cacheStatus);
    } catch (problem) {
      if (s !== session) return;
      if (problem.auth) return showSignIn(problem.message);
      showBanner(`Status not updated: ${problem.message}`, 'http');
      $('updated').textContent = `Last update failed at ${clock(new Date())}; retrying every ${POLL_MS / 1000} s.`;
    }
    if (s === session) schedulePoll(s, POLL_MS);
  }

  /** POST /graphql as JSON (which Apollo's CSRF prevention accepts), the token in the header. */
  async function gql(s, query) {
    let response;
    try {
      response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
        body: JSON.stringify({ query }),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw { auth: false, message: 'The service does not answer.' };
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw { auth: false, message: `The service answered HTTP ${response.status}.` };
    }
    if (body.errors && body.errors.length > 0) throw problemOf(body.errors);
    if (!body.data) throw { auth: false, message: `The service answered HTTP ${response.status} without data.` };
    return body.data;
  }

  /** GraphQL errors → { auth, message }: auth when the token was refused or lacks the admin scope. */
  function problemOf(errors) {
    const refused = errors.find((e) => e.extensions && AUTH_CODES.includes(e.extensions.code));
    const error = refused || errors[0];
    const code = error.extensions && error.extensions.code;
    return { auth: Boolean(refused), message: code ? `${code}: ${error.message}` : String(error.message) };
  }

  function closeProblem(err) {
    if (err && typeof err.code === 'number') return { auth: false, message: `the connection closed (${err.code}${err.reason ? ` ${err.reason}` : ''}).` };
    return { auth: false, message: `${(err && err.message) || 'the connection failed'}.` };
  }

  // ---------------------------------------------------------------- failures table

  function addEvent(s, event, live) {
    const id = Number(event.id);
    if (id > s.lastEventId) {
      s.lastEventId = id;
      if (s.payload) s.payload.variables.after = event.id;
    }
    let row = s.rows.get(event.failureId);
    if (!row) {
      row = failureRow(event);
      s.rows.set(event.failureId, row);
      insertNewestFirst(row, Number(event.failureId));
      if (live) row.classList.add('new');
      trimRows(s);
    }
    if (event.repairedAt) markRepaired(row, event);
    updateCount(s);
    if (live) schedulePoll(s, 300); // the backlog has changed: show it soon
  }

  function failureRow(e) {
    const tr = document.createElement('tr');
    tr.dataset.failureId = e.failureId;
    tr.dataset.status = 'failed';
    const cells = [
      [clock(new Date(e.occurredAt)), 'time', new Date(e.occurredAt).toLocaleString()],
      [e.entity, 'entity'],
      [e.entityId, 'entity-id num'],
      [e.operation, 'operation'],
      [e.version, 'version num'],
      [e.error, 'error', e.error],
      [e.instance, 'instance'],
      ['failed', 'status'],
    ];
    for (const [text, className, title] of cells) {
      const td = document.createElement('td');
      td.className = className;
      td.textContent = String(text);
      if (title) td.title = title;
      tr.appendChild(td);
    }
    return tr;
  }

  function markRepaired(tr, e) {
    tr.dataset.status = 'repaired';
    const cell = tr.querySelector('.status');
    cell.textContent = `repaired by ${e.repairedBy} at ${clock(new Date(e.repairedAt))}`;
    cell.title = new Date(e.repairedAt).toLocaleString();
  }

  function insertNewestFirst(tr, failureId) {
    let before = tbody.firstElementChild;
    while (before && Number(before.dataset.failureId) > failureId) before = before.nextElementSibling;
    tbody.insertBefore(tr, before);
  }

  function trimRows(s) {
    while (s.rows.size > MAX_ROWS) {
      const oldest = tbody.lastElementChild;
      s.rows.delete(oldest.dataset.failureId);
      oldest.remove();
    }
  }

  function updateCount(s) {
    const failed = tbody.querySelectorAll('tr[data-status="failed"]').length;
    const repaired = s.rows.size - failed;
    $('failure-count').textContent = s.rows.size === 0 ? '' : `${failed} unrepaired, ${repaired} repaired`;
    $('no-failures').hidden = s.rows.size > 0;
  }

  function clearFailures() {
    tbody.replaceChildren();
    $('failure-count').textContent = '';
    $('no-failures').hidden = false;
  }

  // ---------------------------------------------------------------- status, charts

  function renderStatus(st) {
    $('instance').textContent = st.instance;
    $('instance').title = st.instance;
    health('redis', st.redis);
    health('mysql', st.mysql);
    const circuit = $('circuit');
    circuit.textContent = st.circuit === 'halfOpen' ? 'half open' : st.circuit;
    circuit.className = st.circuit === 'open' ? 'bad' : st.circuit === 'halfOpen' ? 'warn' : '';
    const backlog = $('backlog');
    backlog.textContent = st.backlog < 0 ? 'unknown' : String(st.backlog);
    backlog.className = st.backlog !== 0 ? 'warn' : '';
    $('hit-ratio').textContent = st.hitRatio == null ? '—' : percent(st.hitRatio);
    $('last-repair').textContent = st.lastRepairAt ? clock(new Date(st.lastRepairAt)) : 'none yet';
    renderFollower(st.changeFollower);
    renderConsistency(st.consistency);
    document.title = st.backlog > 0 ? `(${st.backlog}) Throughline monitor` : 'Throughline monitor';

    const ratios = st.series.map((b) => (b.hits + b.misses > 0 ? b.hits / (b.hits + b.misses) : null));
    const lastRatio = ratios.filter((r) => r !== null).pop();
    bars($('hit-chart'), st.series, ratios, 1, percent, []);
    $('hit-chart-label').textContent = lastRatio === undefined ? 'no reads yet' : `latest ${percent(lastRatio)}`;

    const latencies = st.series.map((b) => b.writeThroughMs);
    const peak = Math.max(0, ...latencies.filter((v) => v !== null));
    const failures = st.series.map((b) => b.failures);
    const ceiling = niceCeiling(peak);
    bars($('latency-chart'), st.series, latencies, ceiling, (v) => `${v.toFixed(1)} ms`, failures);
    const failed = failures.reduce((a, b) => a + b, 0);
    $('latency-chart-label').textContent = peak > 0 ? `peak ${peak.toFixed(1)} ms` : 'no writes yet';
    $('latency-chart-failures').textContent = failed > 0 ? `▪ ${failed} failed after retries` : '';
    $('latency-scale').textContent = `top: ${ceiling} ms`;

    $('updated').textContent = `Updated ${clock(new Date())} · every ${POLL_MS / 1000} s · charts: this instance, 10-second buckets`;
  }

  /** The change follower: its state; why it is off or what last failed; its lag and what it applied. */
  function renderFollower(f) {
    const state = $('follower');
    const detail = $('follower-detail');
    const numbers = $('follower-numbers');
    if (!f) {
      state.textContent = 'none';
      state.className = '';
      detail.textContent = '';
      numbers.textContent = 'not configured (CHANGE_FOLLOWER=off)';
      return;
    }
    state.textContent = f.state;
    state.className = f.state === 'retrying' ? 'bad' : f.state === 'off' ? 'warn' : '';
    const why = f.state === 'off' ? f.problems.join('; ') : f.lastError || '';
    detail.textContent = why;
    detail.title = why;
    const lag = f.lagSeconds == null ? '' : `lag ${f.lagSeconds.toFixed(1)} s · `;
    numbers.textContent = `${lag}applied ${f.appliedOutOfBand} out of band, ${f.appliedApi} from the API`;
    numbers.title = 'Row changes applied from the binlog since this instance started: made behind the API, and the service’s own (already written through)';
  }

  /** The consistency inspector: the last hour's nines, and what it checked and found. */
  function renderConsistency(c) {
    const head = $('consistency');
    const numbers = $('consistency-numbers');
    if (!c) {
      head.textContent = 'off';
      head.className = '';
      numbers.textContent = 'not checking (INSPECTOR_SAMPLE_RATE=0)';
      return;
    }
    const hour = c.lastHour;
    // With none inconsistent, the nines are the most this many checks can show: a floor.
    head.textContent = hour.checked === 0 ? 'no checks yet' : `${hour.inconsistent === 0 ? '≥ ' : ''}${hour.nines.toFixed(1)} nines`;
    head.className = hour.inconsistent > 0 ? 'bad' : '';
    numbers.textContent = `last hour: ${hour.checked} checked, ${hour.inconsistent} inconsistent · reads: ${c.reads.checked} checked, ${c.reads.stale} stale · ${c.repaired} repaired`;
    numbers.title = 'Keys of settled writes (and sampled cache hits) checked against MySQL by this instance; an inconsistent key is one still wrong at the second check and unknown to the failure log';
  }

  function health(name, text) {
    const ok = text === 'ok';
    $(name).textContent = ok ? 'answers' : 'down';
    $(`${name}-detail`).textContent = ok ? '' : text.replace(/^unavailable:\s*/, '');
    $(`${name}-detail`).title = text;
    $(`${name}-dot`).className = `dot ${ok ? 'ok' : 'bad'}`;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  const W = 300;
  const H = 64;

  /** One bar per bucket (none where there is no value); red ticks on top where writes failed. */
  function bars(svg, series, values, max, format, failures) {
    const step = W / values.length;
    const nodes = [svgNode('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'baseline' })];
    values.forEach((v, i) => {
      const at = clock(new Date(series[i].at));
      if (v !== null && max > 0) {
        const h = Math.max(1.5, (v / max) * (H - 6));
        const bar = svgNode('rect', { x: i * step + 0.5, y: H - h, width: Math.max(1, step - 1), height: h, class: 'bar' });
        bar.appendChild(svgNode('title', {}, `${at}: ${format(v)}`));
        nodes.push(bar);
      }
      if (failures[i] > 0) {
        const mark = svgNode('rect', { x: i * step + 0.5, y: 0, width: Math.max(1, step - 1), height: 4, class: 'fail-mark' });
        mark.appendChild(svgNode('title', {}, `${at}: ${failures[i]} failed cache write${failures[i] === 1 ? '' : 's'}`));
        nodes.push(mark);
      }
    });
    svg.replaceChildren(...nodes);
  }

  function svgNode(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** 1, 2 or 5 times a power of ten, at least `v`: a chart ceiling that moves in steps. */
  function niceCeiling(v) {
    if (v <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 5, 10].map((m) => m * power).find((c) => c >= v);
  }

  const percent = (r) => `${(r * 100).toFixed(1)} %`;
  const clock = (d) => d.toLocaleTimeString([], { hour12: false });

  // ---------------------------------------------------------------- chrome

  function setConnection(state, text) {
    app.dataset.state = state;
    $('connection').textContent = text;
    $('connection-dot').className = `dot ${state === 'live' ? 'ok' : state === 'signed-out' ? '' : 'warn'}`;
  }

  /** One banner; `source` lets whoever raised it clear it without clearing someone else's. */
  function showBanner(text, source) {
    const banner = $('banner');
    banner.textContent = text;
    banner.dataset.source = source;
    banner.hidden = false;
  }

  function hideBanner(source) {
    const banner = $('banner');
    if (source === undefined || banner.dataset.source === source) banner.hidden = true;
  }

  // ---------------------------------------------------------------- go

  const token = takeToken();
  if (token) start(token);
  else showSignIn();
})();

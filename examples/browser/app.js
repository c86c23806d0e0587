// Fetches recommendations, renders them as cards, records an impression when a card is seen and
// a click when it is picked. Settings come from the query string so the same page works against any
// server: ?endpoint=http://127.0.0.1:8080&key=pk_…&user=user-0001&k=8
import { createClient } from '@tastemaker/client';

/** @typedef {import('@tastemaker/client').RecommendResponse} RecommendResponse */
/** @typedef {import('@tastemaker/client').TrackedEvent} TrackedEvent */

const params = new URLSearchParams(location.search);
const endpoint = params.get('endpoint') || 'http://127.0.0.1:8080';
const key = params.get('key') || undefined;
const userId = params.get('user') || 'user-0001';
const k = clampInt(params.get('k'), 8, 1, 50);

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const status = $('status');
const list = $('recs');
const log = $('log');
const refresh = /** @type {HTMLButtonElement} */ ($('refresh'));

$('who').textContent = `${userId} · ${new URL(endpoint, location.href).host}`;

const tm = createClient({
  endpoint,
  key,
  userId,
  // Wrapping fetch is the client's injection point; here it only shows what reached the server.
  fetch: loggingFetch,
  onError: (error) => setStatus('error', `${error.code}: ${error.message}`),
});

/** @type {(() => void) | undefined} */
let stopObserving;

async function load() {
  refresh.disabled = true;
  stopObserving?.();
  setStatus('loading', 'Loading recommendations…');
  try {
    const rec = await tm.recommend({ k, context: { page: 'browser-example' } });
    render(rec);
    // One impression per card, recorded once at least half of it has been on screen.
    stopObserving = tm.observeImpressions(rec, list.querySelectorAll('[data-item-id]'));
    setStatus('ready', rec.items.length ? `${rec.items.length} picks from ${rec.model}, ranked by ${rec.policy}.` : 'The server has nothing to recommend.');
  } catch (error) {
    const e = /** @type {{ code?: string, message?: string }} */ (error);
    const hint = e.code === 'NETWORK_ERROR' ? ' Is the server running (npx tastemaker serve)?' : '';
    setStatus('error', `Could not load recommendations from ${endpoint} — ${e.code ?? 'ERROR'}: ${e.message ?? String(error)}${hint}`);
  } finally {
    refresh.disabled = false;
  }
}

/** @param {RecommendResponse} rec */
function render(rec) {
  list.dataset.recommId = rec.recommId;
  // Scores are on the model's own scale (inner products can be negative): bars show rank spread.
  const scores = rec.items.map((item) => item.score);
  const low = Math.min(...scores);
  const span = Math.max(...scores) - low || 1;
  list.replaceChildren(
    ...rec.items.map((item) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'card';
      button.dataset.itemId = item.itemId;
      button.dataset.position = String(item.position);
      button.innerHTML = `
        <span class="rank">${item.position + 1}</span>
        <span class="title"></span>
        <span class="score" title="model score"><span class="bar"></span></span>
        <span class="detail"></span>`;
      /** @type {HTMLElement} */ (button.querySelector('.title')).textContent = item.itemId;
      /** @type {HTMLElement} */ (button.querySelector('.bar')).style.width = `${15 + (85 * (item.score - low)) / span}%`;
      /** @type {HTMLElement} */ (button.querySelector('.detail')).textContent = `score ${item.score.toFixed(3)} · propensity ${item.propensity.toFixed(2)}`;
      button.addEventListener('click', () => pick(rec, item, button));
      const li = document.createElement('li');
      li.append(button);
      return li;
    }),
  );
}

/**
 * @param {RecommendResponse} rec
 * @param {RecommendResponse['items'][number]} item
 * @param {HTMLElement} card
 */
async function pick(rec, item, card) {
  for (const other of list.querySelectorAll('.card[aria-pressed]')) other.removeAttribute('aria-pressed');
  card.setAttribute('aria-pressed', 'true');
  // recommId ties the click to this recommendation's impression, which is how the policy learns.
  tm.track.click({ itemId: item.itemId, recommId: rec.recommId, position: item.position });
  setStatus('sending', `Sending your click on ${item.itemId}…`);
  // A real app would let the batch go on its timer (or on page exit); the demo shows it arrive now.
  await tm.flush();
  if (tm.stats().queued === 0) setStatus('sent', `Click on ${item.itemId} recorded.`);
  else setStatus('queued', `Click on ${item.itemId} is queued; it will be retried.`);
}

/** @type {typeof fetch} */
async function loggingFetch(input, init) {
  const response = await fetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (response.ok && new URL(url, location.href).pathname.endsWith('/v1/events') && typeof init?.body === 'string') {
    const { events } = /** @type {{ events: TrackedEvent[] }} */ (JSON.parse(init.body));
    for (const event of events) {
      const li = document.createElement('li');
      li.dataset.type = event.type;
      li.textContent = `${event.type} · ${event.itemId}${event.position === undefined ? '' : ` · #${event.position + 1}`}`;
      log.prepend(li);
    }
  }
  return response;
}

/**
 * @param {'loading' | 'ready' | 'sending' | 'sent' | 'queued' | 'error'} state
 * @param {string} text
 */
function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

/**
 * @param {string | null} raw
 * @param {number} fallback
 * @param {number} min
 * @param {number} max
 */
function clampInt(raw, fallback, min, max) {
  const n = Number.parseInt(raw ?? '', 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

refresh.addEventListener('click', load);
load();

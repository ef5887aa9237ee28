"""What the page's parts share: errors shown as plain sentences, the wait for the index, article look-ups, and
the page's own style and script (clickable [n] markers, the copy button, no developer chrome)."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from mali_qa.config import Settings
from mali_qa.errors import MaliQAError
from mali_qa.types import Article
from page.display import plain_sentence
from page.engine import loaded, wait_loaded

ROOT = Path(__file__).resolve().parents[1]

# Our own constant CSS and script, never built from article or answer text. The script handles clicks on
# the answer's [n] links (scroll to the source card and open it) and on the copy buttons; it installs one
# listener per browser tab however often the page reruns.
PAGE_CSS = """<style>
[data-testid="stStatusWidget"] { visibility: hidden; }
.mq-answer { margin-bottom: 0.6rem; }
a.mq-cite { font-weight: 600; text-decoration: none; padding: 0 1px; border-radius: 3px; }
a.mq-cite:hover, a.mq-cite:focus-visible { text-decoration: underline; }
button.mq-copy {
  font: inherit; font-size: 0.85rem; line-height: 1.4; padding: 0.2rem 0.7rem; border-radius: 0.5rem;
  border: 1px solid light-dark(#d1d5db, #4b5563); background: transparent; color: inherit; cursor: pointer;
}
button.mq-copy:hover { border-color: light-dark(#6b7280, #9ca3af); }
.mq-flash { outline: 2px solid light-dark(#d97706, #fbbf24); outline-offset: 3px; border-radius: 0.6rem; }
.st-key-mq-script, .st-key-mq-owner { display: none; }
@media (max-width: 640px) {  /* a phone: "New conversation" keeps its icon only, the question box the room */
  .st-key-new-conversation button [data-testid="stMarkdownContainer"] { display: none; }
}
</style>"""

PAGE_SCRIPT = """<script>
(() => {
  if (window.__mqPage) return;
  window.__mqPage = true;
  const openCard = (key) => {
    const card = document.querySelector('.st-key-' + CSS.escape(key));
    if (!card) return false;
    const details = card.querySelector('details');
    if (details && !details.open) details.querySelector('summary')?.click();
    keepInView(() => card, 1500);  // as it opens, until it stands whole above the question box
    card.classList.add('mq-flash');
    setTimeout(() => card.classList.remove('mq-flash'), 1600);
    return true;
  };
  const copy = async (text) => {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* not a secure context */ }
    const area = document.createElement('textarea');
    area.value = text; area.setAttribute('readonly', ''); area.style.position = 'fixed'; area.style.opacity = '0';
    document.body.appendChild(area); area.select();
    let ok = false; try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove(); return ok;
  };
  // The room a reader sees: below Streamlit's header, above the question box (fixed at the bottom).
  const room = () => {
    const header = document.querySelector('[data-testid="stHeader"]');
    const bottom = document.querySelector('[data-testid="stBottom"]');
    const top = header ? Math.max(0, header.getBoundingClientRect().bottom) : 0;
    const end = bottom ? bottom.getBoundingClientRect().top : window.innerHeight;
    return {top: top + 8, bottom: Math.min(end, window.innerHeight) - 8};
  };
  const scroller = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (/(auto|scroll)/.test(style.overflowY) && p.scrollHeight > p.clientHeight) return p;
    }
    return document.scrollingElement;
  };
  // Scroll so that `el` stands whole in the room; one taller than the room shows its top.
  const reveal = (el) => {
    if (!el || !el.isConnected) return;
    const box = el.getBoundingClientRect(), r = room();
    let by = 0;
    if (box.height > r.bottom - r.top || box.top < r.top) by = box.top - r.top;
    else if (box.bottom > r.bottom) by = box.bottom - r.bottom;
    if (Math.abs(by) > 1) scroller(el).scrollBy({top: by, behavior: 'instant'});
  };
  // Keep `target()` in view while it grows (streamed text, suggestions, an opening card), for `ms` after the
  // last change, until the reader scrolls or the next target comes.
  let following = 0;
  const keepInView = (target, ms) => {
    const run = ++following;
    let last = performance.now(), height = -1, top = NaN;
    const step = () => {
      if (run !== following) return;
      const el = target();
      if (el) {
        const box = el.getBoundingClientRect();
        if (box.height !== height || box.top !== top) last = performance.now();
        reveal(el);
        const after = el.getBoundingClientRect();
        height = after.height; top = after.top;
      }
      if (performance.now() - last < ms) requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  };
  for (const kind of ['wheel', 'touchmove']) window.addEventListener(kind, () => { following++; }, {passive: true});
  // A new question (or a restored conversation): its newest message is followed into view.
  let seen = 0, queued = false;
  const newest = () => [...document.querySelectorAll('[data-testid="stChatMessage"]')].pop();
  const follow = () => {
    queued = false;
    const count = document.querySelectorAll('[data-testid="stChatMessage"]').length;
    if (count > seen) keepInView(newest, 4000);
    seen = count;
  };
  new MutationObserver(() => { if (!queued) { queued = true; requestAnimationFrame(follow); } })
    .observe(document.body, {childList: true, subtree: true});
  document.addEventListener('click', async (event) => {
    const cite = event.target.closest && event.target.closest('a.mq-cite');
    if (cite) { event.preventDefault(); openCard(cite.dataset.card); return; }
    const button = event.target.closest && event.target.closest('button.mq-copy');
    if (button) {
      event.preventDefault();
      const done = await copy(button.dataset.copy || '');
      const label = button.dataset.label || button.textContent;
      button.dataset.label = label;
      button.textContent = done ? 'Copied' : 'Copy failed';
      setTimeout(() => { button.textContent = label; }, 1800);
    }
  }, true);
})();
</script>"""


def install_page_style() -> None:
    st.html(PAGE_CSS)  # style only: Streamlit puts it in the event container, it takes no room
    with st.container(key="mq-script"):
        st.html(PAGE_SCRIPT, unsafe_allow_javascript=True)


def show_error(message: str) -> None:
    st.error(message, icon=":material/error:")


@contextmanager
def shown_errors(doing: str, settings: Settings | None = None) -> Iterator[None]:
    """Turn a failure into one plain sentence in an `st.error`: a MaliQAError's own message (it names the
    fix), anything else a short line (the traceback goes to the server's log, or the page in debug mode)."""
    try:
        yield
    except MaliQAError as exc:
        show_error(plain_sentence(str(exc), ROOT))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        show_error(f"Something went wrong while {doing}. Please try again in a moment.")
        if settings is not None and settings.debug:
            st.exception(exc)


def wait_for_index(settings: Settings) -> None:
    """Wait (behind a spinner) until the index and model are loaded; raises the load's error."""
    if loaded(settings):
        return
    with st.spinner("Loading the index and the model (once per server start)…"):
        wait_loaded(settings)


def article_for(article_id: str, settings: Settings) -> Article | None:
    """The indexed article, or None when it cannot be read."""
    from mali_qa.library import get_article

    try:
        return get_article(article_id, settings)
    except Exception:
        return None

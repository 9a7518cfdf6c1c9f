/*
 * IOV Lab navigation script — the only script on a page without cells or labs.
 * A classic script (no modules, no network: it must work from file://, see OFFLINE.md), loaded
 * in <head> so the theme is set before the first paint. It does three things:
 *
 *  1. Theme: light/dark from the saved choice (localStorage 'iovlab:v1:theme') or the system's
 *     prefers-color-scheme; sets <html data-theme>, reveals the toggle button, and dispatches
 *     'iovlab:themechange' on document (detail: { theme }) when it changes, for charts.
 *  2. Progress: records the visit of a lesson page (<html data-lesson="slug">) in
 *     'iovlab:v1:progress' (.lessonsVisited[slug] = true, keeping whatever else the lab UI stored)
 *     and fills every [data-progress-lesson] mark from it. Refreshes on the 'storage' event and on
 *     a 'iovlab:progress' event that the lab UI may dispatch on window after saving.
 *  3. Search: on the search box's first focus, injects <script src=".../search-index.js"> (which
 *     sets window.IOVLAB_SEARCH) and searches titles, headings and text as you type. The scoring
 *     rule is the same as src/lib/search.ts (tests keep them in step).
 *  Export, import and erase of all progress live on the "Your progress" page (progress.js), with
 *  backups, migrations and damage checks; this script does not touch them.
 *
 * Every URL is built from <html data-root> (the relative path back to the site root).
 */
(function () {
  'use strict';
  var doc = document;
  var html = doc.documentElement;
  var ROOT = html.getAttribute('data-root') || '';
  var THEME_KEY = 'iovlab:v1:theme';
  var PROGRESS_KEY = 'iovlab:v1:progress';

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); return true; } catch (e) { return false; }
  }

  /* ---------- 1. Theme ---------- */
  var media = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  function savedTheme() {
    var t = storageGet(THEME_KEY);
    return t === 'dark' || t === 'light' ? t : null;
  }
  function systemTheme() {
    return media && media.matches ? 'dark' : 'light';
  }
  function applyTheme(theme) {
    var changed = html.getAttribute('data-theme') !== theme;
    html.setAttribute('data-theme', theme);
    var btn = doc.querySelector('[data-theme-toggle]');
    if (btn) {
      btn.setAttribute('aria-pressed', theme === 'dark' ? 'true' : 'false');
      var label = btn.querySelector('.theme-label');
      if (label) label.textContent = theme === 'dark' ? 'Light' : 'Dark';
      btn.setAttribute('title', theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme');
      btn.setAttribute('aria-label', theme === 'dark' ? 'Dark theme on: switch to light' : 'Dark theme off: switch to dark');
    }
    if (changed && doc.readyState !== 'loading') {
      try { doc.dispatchEvent(new CustomEvent('iovlab:themechange', { detail: { theme: theme } })); } catch (e) { /* old browsers */ }
    }
  }
  applyTheme(savedTheme() || systemTheme());
  if (media) {
    var onSystemChange = function () { if (!savedTheme()) applyTheme(systemTheme()); };
    if (media.addEventListener) media.addEventListener('change', onSystemChange);
    else if (media.addListener) media.addListener(onSystemChange);
  }

  /* ---------- 2. Progress ---------- */
  function readProgress() {
    var raw = storageGet(PROGRESS_KEY);
    if (!raw) return {};
    try {
      var p = JSON.parse(raw);
      return p && typeof p === 'object' ? p : {};
    } catch (e) {
      return {};
    }
  }
  function markVisited(slug) {
    var p = readProgress();
    if (!p.lessonsVisited || typeof p.lessonsVisited !== 'object') p.lessonsVisited = {};
    if (p.lessonsVisited[slug] === true) return;
    p.lessonsVisited[slug] = true;
    storageSet(PROGRESS_KEY, JSON.stringify(p));
  }
  var currentLesson = html.getAttribute('data-lesson');
  if (currentLesson) markVisited(currentLesson);

  function labScore(p, id) {
    var l = p.labs && p.labs[id];
    if (!l || typeof l !== 'object') return null;
    var best = Number(l.bestScore);
    var max = Number(l.maxScore);
    if (!isFinite(best) || !isFinite(max) || max <= 0) return null;
    return { best: best, max: max };
  }
  function fmtScore(n) {
    return Math.round(n * 10) / 10 + '';
  }
  function renderProgress() {
    var p = readProgress();
    var visited = p.lessonsVisited && typeof p.lessonsVisited === 'object' ? p.lessonsVisited : {};
    var marks = doc.querySelectorAll('[data-progress-lesson]');
    for (var i = 0; i < marks.length; i++) {
      var el = marks[i];
      var slug = el.getAttribute('data-progress-lesson');
      var labs = (el.getAttribute('data-progress-labs') || '').split(/\s+/).filter(Boolean);
      var compact = el.classList.contains('progress-compact');
      var parts = [];
      var seen = visited[slug] === true;
      var allLabsDone = labs.length > 0;
      var labTexts = [];
      for (var j = 0; j < labs.length; j++) {
        var s = labScore(p, labs[j]);
        if (!s || s.best < s.max) allLabsDone = false;
        if (s) labTexts.push({ id: labs[j], text: fmtScore(s.best) + '/' + fmtScore(s.max), done: s.best >= s.max });
      }
      while (el.firstChild) el.removeChild(el.firstChild);
      el.removeAttribute('data-state');
      if (!seen && labTexts.length === 0) { el.removeAttribute('title'); continue; }
      var state = allLabsDone ? 'done' : seen ? 'visited' : 'started';
      el.setAttribute('data-state', state);
      if (seen) parts.push('visited');
      for (var k = 0; k < labTexts.length; k++) parts.push('lab ' + labTexts[k].id + ' ' + labTexts[k].text + (labTexts[k].done ? ' (complete)' : ''));
      var title = parts.join(' · ');
      el.setAttribute('title', title.charAt(0).toUpperCase() + title.slice(1));
      var icon = doc.createElement('span');
      icon.className = 'progress-icon';
      icon.setAttribute('aria-hidden', 'true');
      icon.textContent = state === 'done' ? '★' : '✓';
      el.appendChild(icon);
      var text = doc.createElement('span');
      if (compact) {
        text.className = 'visually-hidden';
        text.textContent = ' ' + title;
        el.appendChild(text);
        if (labTexts.length) {
          var score = doc.createElement('span');
          score.className = 'progress-score';
          score.setAttribute('aria-hidden', 'true');
          score.textContent = labTexts[0].text;
          el.appendChild(score);
        }
      } else {
        text.className = 'progress-text';
        text.textContent = ' ' + (seen ? 'Visited' : 'Started') + (labTexts.length ? ' · ' + labTexts.map(function (t) { return 'lab ' + t.text + (t.done ? ' ✓' : ''); }).join(' · ') : '');
        el.appendChild(text);
      }
    }
  }
  window.addEventListener('storage', function (e) {
    if (e.key === PROGRESS_KEY || e.key === null) renderProgress();
    if (e.key === THEME_KEY) applyTheme(savedTheme() || systemTheme());
  });
  window.addEventListener('iovlab:progress', renderProgress);

  /* ---------- 3. Search ---------- */
  function fold(s) {
    return String(s).normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }
  function clip(text, max) {
    if (text.length <= max) return text;
    var cut = text.slice(0, max);
    var sp = cut.lastIndexOf(' ');
    return (sp > max * 0.8 ? cut.slice(0, sp) : cut) + '…';
  }
  /* Same rule as searchDocs() in src/lib/search.ts. */
  function searchDocs(docs, query, limit) {
    var q = fold(query).trim();
    if (!q) return [];
    var words = q.split(/\s+/).filter(Boolean);
    var hits = [];
    for (var i = 0; i < docs.length; i++) {
      var d = docs[i];
      var title = fold(d.title);
      var text = fold(d.text);
      var headings = d.headings || [];
      var score = 0;
      var ok = true;
      for (var w = 0; w < words.length; w++) {
        var s = 0;
        if (title.indexOf(words[w]) >= 0) s += 10;
        for (var h = 0; h < headings.length; h++) {
          if (fold(headings[h].text).indexOf(words[w]) >= 0) { s += 4; break; }
        }
        if (text.indexOf(words[w]) >= 0) s += 1;
        if (s === 0) { ok = false; break; }
        score += s;
      }
      if (!ok) continue;
      if (title === q) score += 50;
      else if (title.indexOf(q) >= 0) score += 20;
      var url = d.url;
      var best = 0;
      for (var hh = 0; hh < headings.length; hh++) {
        var ht = fold(headings[hh].text);
        var hs = (ht.indexOf(q) >= 0 ? 8 : 0);
        for (var ww = 0; ww < words.length; ww++) if (ht.indexOf(words[ww]) >= 0) hs++;
        if (hs > best && headings[hh].id) { best = hs; url = d.url.split('#')[0] + '#' + headings[hh].id; }
      }
      if (text.indexOf(q) >= 0) score += 3;
      var at = text.indexOf(words[0]);
      var snippet = at < 0 ? clip(d.text, 140) : (at > 40 ? '…' : '') + clip(d.text.slice(Math.max(0, at - 40)), 140);
      hits.push({ doc: d, url: url, score: score, snippet: snippet });
    }
    hits.sort(function (a, b) { return b.score - a.score || a.doc.title.localeCompare(b.doc.title); });
    return hits.slice(0, limit || 12);
  }

  /* Appends `text` to `parent`, wrapping occurrences of the query words in <mark>. */
  function appendHighlighted(parent, text, words) {
    var folded = fold(text);
    var ranges = [];
    for (var i = 0; i < words.length; i++) {
      if (!words[i]) continue;
      var from = 0;
      var at;
      while ((at = folded.indexOf(words[i], from)) >= 0) {
        ranges.push([at, at + words[i].length]);
        from = at + words[i].length;
      }
    }
    // Folding may change lengths (accents); only highlight when it did not.
    if (folded.length !== text.length || ranges.length === 0) {
      parent.appendChild(doc.createTextNode(text));
      return;
    }
    ranges.sort(function (a, b) { return a[0] - b[0]; });
    var pos = 0;
    for (var r = 0; r < ranges.length; r++) {
      var a = Math.max(ranges[r][0], pos);
      var b = ranges[r][1];
      if (b <= pos) continue;
      if (a > pos) parent.appendChild(doc.createTextNode(text.slice(pos, a)));
      var m = doc.createElement('mark');
      m.textContent = text.slice(a, b);
      parent.appendChild(m);
      pos = b;
    }
    if (pos < text.length) parent.appendChild(doc.createTextNode(text.slice(pos)));
  }

  function setupSearch() {
    var box = doc.querySelector('[data-search]');
    if (!box) return;
    var input = box.querySelector('input');
    var panel = box.querySelector('[data-search-results]');
    var list = box.querySelector('[data-search-list]');
    var status = box.querySelector('[data-search-status]');
    if (!input || !panel || !list || !status) return;
    box.hidden = false;
    var state = 'idle'; // idle → loading → ready | failed
    var timer = 0;

    function load() {
      if (state !== 'idle') return;
      if (window.IOVLAB_SEARCH) { state = 'ready'; return; }
      state = 'loading';
      var s = doc.createElement('script');
      s.src = ROOT + 'search-index.js';
      s.onload = function () {
        state = window.IOVLAB_SEARCH ? 'ready' : 'failed';
        run();
      };
      s.onerror = function () {
        state = 'failed';
        run();
      };
      doc.head.appendChild(s);
    }
    function open(show) {
      panel.hidden = !show;
      box.classList.toggle('is-open', !!show);
    }
    function links() {
      return list.querySelectorAll('a');
    }
    /* Arrow keys move the real focus between the results (no ARIA combobox needed). */
    function focusHit(i) {
      var ls = links();
      if (ls.length === 0) return;
      if (i < 0) { returning = true; input.focus(); returning = false; return; }
      ls[Math.min(i, ls.length - 1)].focus();
    }
    function run() {
      var q = input.value;
      while (list.firstChild) list.removeChild(list.firstChild);
      if (!q.trim()) { open(false); return; }
      open(true);
      if (state === 'loading' || state === 'idle') { status.textContent = 'Loading the search index…'; load(); return; }
      if (state === 'failed') { status.textContent = 'The search index could not be loaded.'; return; }
      var hits = searchDocs(window.IOVLAB_SEARCH || [], q, 12);
      var words = fold(q).trim().split(/\s+/).filter(Boolean);
      status.textContent = hits.length === 0 ? 'No results for “' + q.trim() + '”.' : hits.length + (hits.length === 1 ? ' result' : ' results');
      for (var i = 0; i < hits.length; i++) {
        var hit = hits[i];
        var li = doc.createElement('li');
        var a = doc.createElement('a');
        a.href = ROOT + hit.url;
        a.id = 'search-hit-' + i;
        a.className = 'search-hit';
        var kind = doc.createElement('span');
        kind.className = 'search-kind';
        kind.textContent = hit.doc.kind;
        var title = doc.createElement('span');
        title.className = 'search-title';
        appendHighlighted(title, hit.doc.title, words);
        var snip = doc.createElement('span');
        snip.className = 'search-snippet';
        appendHighlighted(snip, hit.snippet, words);
        a.appendChild(kind);
        a.appendChild(title);
        a.appendChild(snip);
        li.appendChild(a);
        list.appendChild(li);
      }
    }

    var returning = false; // focus coming back from the results: do not reopen them
    input.addEventListener('focus', function () {
      load();
      if (!returning && input.value.trim()) run();
    });
    input.addEventListener('input', function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(run, 60);
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        // Flush a pending search so the results are those of the whole query.
        window.clearTimeout(timer);
        run();
        focusHit(0);
      } else if (e.key === 'Enter') {
        window.clearTimeout(timer);
        run();
        var first = links()[0];
        if (first) { e.preventDefault(); first.click(); }
      } else if (e.key === 'Escape') {
        if (!panel.hidden) { e.preventDefault(); open(false); }
        else if (input.value) { input.value = ''; }
        else input.blur();
      }
    });
    list.addEventListener('keydown', function (e) {
      var ls = Array.prototype.slice.call(links());
      var at = ls.indexOf(doc.activeElement);
      if (e.key === 'ArrowDown') { e.preventDefault(); focusHit(at + 1); }
      else if (e.key === 'ArrowUp') { e.preventDefault(); focusHit(at - 1); }
      else if (e.key === 'Escape') {
        e.preventDefault();
        open(false);
        returning = true;
        input.focus();
        returning = false;
      }
    });
    doc.addEventListener('click', function (e) {
      if (!box.contains(e.target)) open(false);
    });
    box.addEventListener('focusout', function (e) {
      if (e.relatedTarget && !box.contains(e.relatedTarget)) open(false);
    });
    doc.addEventListener('keydown', function (e) {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target;
      var tag = t && t.tagName ? t.tagName.toLowerCase() : '';
      if (tag === 'input' || tag === 'textarea' || tag === 'select' || (t && t.isContentEditable)) return;
      if (t && t.closest && t.closest('.monaco-editor, [data-editor], [role="textbox"]')) return;
      e.preventDefault();
      input.focus();
      input.select();
    });
  }

  function setupThemeToggle() {
    var btn = doc.querySelector('[data-theme-toggle]');
    if (!btn) return;
    btn.hidden = false;
    applyTheme(html.getAttribute('data-theme') || systemTheme());
    btn.addEventListener('click', function () {
      var next = html.getAttribute('data-theme') === 'dark' ? 'light' : 'dark';
      storageSet(THEME_KEY, next);
      applyTheme(next);
    });
  }

  /* The table of contents marks the section being read (aria-current="location"). */
  function setupTocSpy() {
    var links = doc.querySelectorAll('.toc-list a[href^="#"]');
    if (!links.length) return;
    var targets = [];
    for (var i = 0; i < links.length; i++) {
      var id = decodeURIComponent(links[i].getAttribute('href').slice(1));
      var el = doc.getElementById(id);
      if (el) targets.push({ el: el, id: id });
    }
    if (!targets.length) return;
    var current = null;
    var pending = false;
    function update() {
      pending = false;
      var line = 96;
      var found = null;
      for (var t = 0; t < targets.length; t++) {
        if (targets[t].el.getBoundingClientRect().top <= line) found = targets[t].id;
        else break;
      }
      if (found === current) return;
      current = found;
      for (var k = 0; k < links.length; k++) {
        if (found && decodeURIComponent(links[k].getAttribute('href').slice(1)) === found) links[k].setAttribute('aria-current', 'location');
        else links[k].removeAttribute('aria-current');
      }
    }
    window.addEventListener('scroll', function () {
      if (!pending) { pending = true; window.requestAnimationFrame(update); }
    }, { passive: true });
    update();
  }

  function onReady() {
    setupThemeToggle();
    renderProgress();
    setupSearch();
    setupTocSpy();
  }
  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', onReady);
  else onReady();

  /*
   * A small API: the lab UI may call IOVLAB_NAV.refreshProgress() after saving progress and read
   * IOVLAB_NAV.theme(); `search` is exposed for tests (tests/site/search.test.ts).
   */
  window.IOVLAB_NAV = {
    refreshProgress: renderProgress,
    theme: function () { return html.getAttribute('data-theme'); },
    search: searchDocs,
  };
})();

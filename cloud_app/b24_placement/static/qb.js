// The placement pages: drawn from the portal API with the page session, kept live by polling.
// No framework: a little DOM helper, one function per page, text always set as text (never as HTML).
(function () {
  'use strict';
  var root = document.getElementById('qb');
  var S = JSON.parse(document.getElementById('qb-strings').textContent);
  var page = root.dataset.page, member = root.dataset.member, recordId = root.dataset.id;
  var session = root.dataset.session, isAdmin = root.dataset.admin === '1', lang = root.dataset.lang;
  var timers = [];
  var AGENT_PORT = 8765;  // the agent's default port (qb-agent pair --port changes it)

  // -- helpers ------------------------------------------------------------------------------------------
  function t(key, vars) {
    var s = S[key] !== undefined ? S[key] : key;
    Object.keys(vars || {}).forEach(function (k) { s = s.split('{' + k + '}').join(String(vars[k])); });
    return s;
  }
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') el.textContent = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    });
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { add(el, c); }); return; }
    el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  function show() {
    root.textContent = '';
    for (var i = 0; i < arguments.length; i++) add(root, arguments[i]);
    fit();
  }
  // a style attribute is refused by the page's Content-Security-Policy (style-src 'self'); the CSSOM is not
  function widthOf(el, pct) { el.style.width = pct + '%'; return el; }
  function fit() { if (window.BX24 && BX24.fitWindow) setTimeout(function () { BX24.fitWindow(); }, 0); }
  function api(method, path, body) {
    var opts = { method: method, headers: { 'X-Session': session, 'X-Lang': lang } };  // refusals in the page's language
    if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return fetch('/api/portals/' + encodeURIComponent(member) + path, opts).then(function (r) {
      if (r.status === 401) throw new Error(t('session_expired'));
      var type = r.headers.get('Content-Type') || '';
      var read = type.indexOf('json') >= 0 ? r.json() : r.text().then(function (x) { return { message: x }; });
      return read.then(function (data) {
        if (!r.ok) { var err = new Error(data.message || t('http_error', { status: r.status })); err.data = data; throw err; }
        return data;
      });
    });
  }
  function failed(err) {
    show(h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, t('load_failed', { reason: err.message })),
      h('button', { class: 'qb-btn', onclick: function () { location.reload(); } }, t('retry')));
  }
  function every(ms, fn) { var id = setInterval(fn, ms); timers.push(id); return id; }
  function stopAll() { timers.splice(0).forEach(clearInterval); }
  function amountText(v, currency) {
    if (v === null || v === undefined || v === '') return '—';
    var n = Number(v);
    var text = isNaN(n) ? String(v) : n.toLocaleString(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return currency ? text + '\u00a0' + currency : text;  // the currency stays on the amount's line
  }
  // an amount: right-aligned in a table, with its currency when known
  function money(v, currency) { return h('span', { class: 'qb-money' }, amountText(v, currency)); }
  function num(text) { return h('span', { class: 'qb-money' }, text); }
  function qty(v) {
    if (v === null || v === undefined || v === '') return '';
    var n = Number(v);
    return num(isNaN(n) ? String(v) : n.toLocaleString(lang, { maximumFractionDigits: 5 }));
  }
  function when(iso) {
    if (!iso) return t('never');
    var d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' });
  }
  function day(iso) {
    if (!iso) return '—';
    var d = new Date(iso.length === 10 ? iso + 'T00:00:00' : iso);
    return isNaN(d) ? String(iso) : d.toLocaleDateString(lang, { dateStyle: 'medium' });
  }
  function stateLabel(state) { return t('sync.step.' + (state === 'looking_up' ? 'queued' : state)); }
  function badge(text, kind) { return h('span', { class: 'qb-badge qb-badge-' + (kind || 'grey') }, text); }
  function statusBadge(status) {
    var kinds = { open: 'blue', paid: 'green', 'partially paid': 'yellow', overdue: 'red', voided: 'grey', deleted: 'grey', used: 'grey', credit: 'yellow' };
    return status ? badge(t('status.' + status), kinds[status]) : null;
  }
  function isNum(c) { return !!(c && c.classList && c.classList.contains('qb-money')); }
  function table(head, rows, cls) {
    var numeric = head.map(function (_, i) { return rows.length > 0 && rows.every(function (r) { return isNum(r[i]) || r[i] === ''; }); });
    return h('table', { class: 'qb-table ' + (cls || '') },
      h('thead', {}, h('tr', {}, head.map(function (c, i) { return h('th', { scope: 'col', class: numeric[i] ? 'qb-num' : null }, c); }))),
      h('tbody', {}, rows.map(function (r) {
        return h('tr', {}, r.map(function (c, i) {
          return h('td', { class: numeric[i] || isNum(c) ? 'qb-num' : null, 'data-label': typeof head[i] === 'string' ? head[i] : null }, c);
        }));
      })));
  }
  function facts(pairs) {
    return h('dl', { class: 'qb-facts' }, pairs.filter(Boolean).map(function (p) {
      return [h('dt', {}, p[0]), h('dd', {}, p[1])];
    }));
  }
  function section(title) {
    var box = h('section', { class: 'qb-card' }, title ? h('h2', {}, title) : null);
    for (var i = 1; i < arguments.length; i++) add(box, arguments[i]);
    return box;
  }
  function button(text, onclick, kind, attrs) {
    var b = h('button', Object.assign({ type: 'button', class: 'qb-btn ' + (kind ? 'qb-btn-' + kind : '') }, attrs || {}), text);
    b.addEventListener('click', function () { onclick(b); });
    return b;
  }
  function close() { if (window.BX24 && BX24.closeApplication) BX24.closeApplication(); }
  function unknownRecord() { show(h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, t('load_failed', { reason: t('no_record') }))); }

  // -- "Sync to QuickBooks": preview → confirm → live status ------------------------------------------
  // onDone: inside the deal tab, Close and Cancel go back to the tab (a slider closes itself)
  function dealSync(host, dealId, kind, onDone) {
    var box = host || root, syncId = null, poll = null;
    var done = onDone ? function () { stop(); onDone(); } : close;
    function draw() { box.textContent = ''; for (var i = 0; i < arguments.length; i++) add(box, arguments[i]); fit(); }
    draw(h('h1', {}, t('sync.title')), h('p', { class: 'qb-muted' }, t('sync.checking')));
    var body = { preview: true };
    if (kind) body.kind = kind;
    api('POST', '/deals/' + dealId + '/sync', body).then(function (r) {
      syncId = r.sync_id;
      follow();
    }).catch(function (e) {
      if (e.data && e.data.sync_id) { syncId = e.data.sync_id; follow(); return; }  // already on its way
      draw(h('h1', {}, t('sync.title')), h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, e.message));
    });
    function follow() {
      refresh();
      if (poll === null) poll = every(1500, refresh);
    }
    function refresh() {
      api('GET', '/syncs/' + syncId).then(render).catch(function (e) {
        draw(h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, e.message));
      });
    }
    function stop() { if (poll !== null) { clearInterval(poll); poll = null; } }
    function render(s) {
      var d = s.detail || {};
      if (s.state === 'preview') { stop(); draw(h('h1', {}, t('sync.title')), preview(s, d)); return; }
      var previewed = d.lines !== undefined;
      if (!previewed && s.state !== 'failed') {
        draw(h('h1', {}, t('sync.title')), h('p', { class: 'qb-muted' }, t('sync.checking')), connectorInfo(s));
        return;
      }
      if (s.state === 'done' || s.state === 'failed') stop();
      draw(h('h1', {}, t('sync.title')), steps(s), outcome(s, d),
        d.recovering && s.state !== 'done' && s.state !== 'failed' ? h('p', { class: 'qb-muted', id: 'qb-recovering' }, t('sync.recovering')) : null,
        s.state === 'done' || s.state === 'failed' ? null : connectorInfo(s));
    }
    function preview(s, d) {
      var cur = (d.deal || {}).CURRENCY_ID || '';
      var select = h('select', { id: 'qb-kind', 'aria-label': t('sync.document') },
        ['Invoice', 'Estimate', 'SalesOrder', 'CreditMemo'].map(function (k) {
          return h('option', { value: k, selected: k === s.kind }, t('kind.' + k));
        }));
      // a credit memo gives the customer money back: the preview says so while it is the choice
      var creditNote = h('div', { class: 'qb-alert', id: 'qb-credit-note', role: 'status' }, t('sync.credit_note', { customer: d.customer || '', total: money(d.total, cur) }));
      function showCredit() { creditNote.hidden = select.value !== 'CreditMemo'; fit(); }
      select.addEventListener('change', showCredit);
      creditNote.hidden = s.kind !== 'CreditMemo';
      var lines = (d.lines || []).map(function (ln) {
        var action = ln.problem ? 'problem' : (ln.action || 'none');
        var kinds = { matched: 'green', create: 'blue', problem: 'red', none: 'grey' };
        // an item to create says which income account it will post to
        var said = action === 'create' && ln.account ? t('sync.action.create_item', { account: ln.account }) : t('sync.action.' + action);
        return [ln.description || '', h('span', {}, ln.item || '—', ' ', badge(said, kinds[action]),
          ln['class'] ? h('span', { class: 'qb-muted qb-line-class' }, ' ' + t('sync.class_of_line', { name: ln['class'] })) : null,
          ln.site ? h('span', { class: 'qb-muted qb-line-site' }, ' ' + t('sync.site_of_line', { name: ln.site })) : null,
          ln.unit ? h('span', { class: 'qb-muted qb-line-unit' }, ' ' + t('sync.unit_of_line', { name: ln.unit })) : null),
          qty(ln.quantity), money(ln.rate), money(ln.amount, cur)];
      });
      var problems = (d.problems || []);
      var updating = d.document_action === 'update';
      var docName = t('kind.' + s.kind) + ' ' + (d.document_number || '');
      function send(b, another) {
        b.disabled = true;
        api('POST', '/syncs/' + syncId + '/confirm', { kind: select.value, another: another }).then(follow).catch(function (e) {
          if (e.data && e.data.error === 'running' && e.data.sync_id) { syncId = e.data.sync_id; follow(); return; }
          b.disabled = false;
          add(box, h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, e.message));
        });
      }
      var confirm = button(updating ? t('sync.confirm_update', { document: docName }) : t('sync.confirm'),
        function (b) { send(b, false); }, 'primary', { id: 'qb-confirm', disabled: !d.can_send });
      // a second document for the same deal is a separate, explicit choice
      var another = updating ? button(t('sync.confirm_another'), function (b) { send(b, true); }, null, { id: 'qb-another' }) : null;
      return h('div', { class: 'qb-preview' },
        facts([
          [t('sync.customer'), h('span', {}, d.customer || '—', ' ',
            badge(d.customer_action === 'create' ? t('sync.customer_create') : t('sync.customer_matched'),
              d.customer_action === 'create' ? 'blue' : 'green'))],
          [t('sync.document'), updating ? h('span', {}, select, ' ', badge(t('sync.document_update', { document: docName }), 'blue')) : select],
          d.sales_rep ? [t('sync.sales_rep'), d.sales_rep] : null,
          d['class'] ? [t('sync.class'), h('span', { id: 'qb-class' }, d['class'])] : null,
          // another currency than QuickBooks' home one: the rate that will be sent and the A/R account
          d.currency ? [t('sync.currency'), h('span', { id: 'qb-currency' },
            t('sync.currency_rate', { name: d.currency.name || d.currency.code, code: d.currency.code, rate: d.currency.rate,
              home: d.currency.home, home_total: d.currency.home_total }),
            d.currency.receivable ? [h('br'), h('span', { class: 'qb-muted', id: 'qb-currency-ar' }, d.currency.ar_account
              ? t('sync.currency_ar', { account: d.currency.ar_account })
              : t('sync.currency_ar_new', { code: d.currency.code }))] : null)] : null,
          // the new customer's custom fields, each with the value it gets
          (d.custom_fields || []).length ? [t('sync.custom_fields'), h('ul', { id: 'qb-custom-fields' },
            d.custom_fields.map(function (f) {
              return h('li', {}, f.name + ': ' + f.value,
                f['new'] ? [' ', badge(t('sync.custom_field_new'), 'blue')] : null);
            }))] : null
        ]),
        h('div', { class: 'qb-scroll' }, table([t('sync.line'), t('sync.item'), t('sync.qty'), t('sync.rate'), t('sync.amount')], lines)),
        h('dl', { class: 'qb-facts qb-totals' },
          [[t('sync.subtotal'), money(d.subtotal, cur)], [t('sync.tax'), money(d.tax, cur)],
            [t('sync.total'), h('strong', { id: 'qb-total' }, money(d.total, cur))]].map(function (p) { return [h('dt', {}, p[0]), h('dd', {}, p[1])]; })),
        creditNote,
        problems.length ? h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, h('strong', {}, t('sync.problems')),
          h('ul', {}, problems.map(function (p) { return h('li', {}, p); }))) : null,
        (d.notes || []).length ? h('div', { class: 'qb-alert' }, h('strong', {}, t('sync.notes')),
          h('ul', {}, d.notes.map(function (n) { return h('li', {}, n); }))) : null,
        h('div', { class: 'qb-actions' }, confirm, another, button(t('cancel'), done, null, { id: 'qb-cancel' })));
    }
    function steps(s) {
      var order = ['queued', 'waiting', 'sent', 'done'];
      var at = s.state === 'failed' ? -1 : order.indexOf(s.state);
      return h('ol', { class: 'qb-steps', id: 'qb-status', 'data-state': s.state }, order.map(function (st, i) {
        var cls = at > i || s.state === 'done' ? 'done' : at === i ? 'current' : '';
        if (s.state === 'failed' && i === order.length - 1) return h('li', { class: 'failed' }, t('sync.step.failed'));
        return h('li', { class: cls, 'aria-current': at === i ? 'step' : null }, t('sync.step.' + st));
      }));
    }
    function outcome(s, d) {
      if (s.state === 'done') {
        return h('div', { class: 'qb-alert qb-alert-ok', id: 'qb-outcome' }, s.outcome || '',
          h('div', { class: 'qb-actions' }, button(t('close'), done, 'primary', { id: 'qb-close' })));
      }
      if (s.state === 'failed') {
        return h('div', { class: 'qb-alert qb-alert-error', role: 'alert', id: 'qb-outcome' },
          h('strong', {}, d.reason || s.outcome || ''),
          d.fix ? h('p', {}, t('sync.what_to_do') + ': ' + d.fix) : null,
          d.next_try ? h('p', { id: 'qb-next-try' }, t('sync.next_try', { when: when(d.next_try) })) : null,
          (d.problems || []).length ? h('ul', {}, d.problems.map(function (p) { return h('li', {}, p); })) : null,
          h('div', { class: 'qb-actions' }, button(t('retry'), function (b) {
            if (!d.unresolved) { stop(); dealSync(box, dealId, s.kind, onDone); return; }
            b.disabled = true;  // the write may have landed: QuickBooks is asked first, nothing is re-sent blindly
            api('POST', '/syncs/' + syncId + '/retry').then(function (r) { syncId = r.sync_id; follow(); }).catch(function (e) {
              if (e.data && e.data.sync_id) { syncId = e.data.sync_id; follow(); return; }
              b.disabled = false; add(box, h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, e.message));
            });
          }, 'primary'),
            button(t('close'), done, null, { id: 'qb-close' })));
      }
      return null;
    }
  }
  function why(w) {  // why nothing reaches QuickBooks (cloud_app/qb_reach.py), with what to do
    if (!w) return null;
    var named = {  // the PC and the file by name; words without a name when they are not known
      on: w.machine ? t('why.on', { machine: w.machine }) : t('why.on_unknown'),
      with_file: w.file ? t('why.with_file', { file: w.file }) : '',
      expected: w.file ? t('why.expected', { file: w.file }) : t('why.expected_unknown'),
      since: when(w.since), detail: w.detail || '' };
    return h('p', { class: 'qb-warn', id: 'qb-why', 'data-cause': w.cause }, t('why.' + w.cause, named));
  }
  function connectorInfo(s) {
    var lines = [];
    if (s.why_waiting && s.state !== 'done' && s.state !== 'failed') lines.push(why(s.why_waiting));
    if (!s.agent_online) lines.push(h('p', { class: 'qb-warn' }, t('sync.agent_offline')));
    if (s.quickbooks_busy) lines.push(h('p', {}, badge(t('health.qb_busy'), 'yellow'), ' ', t('sync.qb_busy')));
    if (s.last_web_connector_run) {
      lines.push(h('p', {}, t('sync.wc_last', { when: when(s.last_web_connector_run) })));
      if (s.next_web_connector_run) lines.push(h('p', {}, t('sync.wc_next', { when: when(s.next_web_connector_run) })));
    } else {
      lines.push(h('p', {}, t('sync.wc_never')));
    }
    return h('div', { class: 'qb-muted qb-connector' }, lines);
  }

  // -- the deal tab -------------------------------------------------------------------------------------
  function outageNote(o) {  // Bitrix24 not answering: since when, and that we keep trying
    return h('span', { class: 'qb-warn' }, t('outage.b24', { since: when(o.since) }));
  }

  // It follows the deal's syncs: a sync made in the slider (or anywhere) shows here when it finishes, no
  // reload; it is drawn again only when what it shows changed.
  function dealTab() {
    if (!recordId) return unknownRecord();
    var asked = false, shown = null, syncing = false, first = true;
    function load() {
      if (syncing || document.hidden) return;
      api('GET', '/deals/' + recordId + '/quickbooks' + (first ? '?auto=1' : '')).then(function (r) {
        first = false;
        if (syncing) return;
        var seen = JSON.stringify(r) + asked;
        if (seen !== shown) { shown = seen; render(r); }
      }).catch(failed);
    }
    function follow() { stopAll(); shown = null; every(3000, load); load(); }
    function back() { syncing = false; follow(); }
    function creditWarning(c) {
      if (!c || !c.over_limit) return null;
      return h('div', { class: 'qb-alert qb-alert-warn', role: 'alert', id: 'qb-credit' },
        t('credit.over', { name: c.name || '', balance: amountText(c.balance, c.currency || ''), limit: amountText(c.credit_limit, c.currency || '') }));
    }
    function render(r) {
      var doc = r.document, c = r.customer;
      if (asked && !r.refreshing) asked = false;  // QuickBooks answered (changed or not)
      var actions = h('div', { class: 'qb-actions' },
        button(t('sync.title'), function () {
          stopAll(); syncing = true; var host = h('div', { class: 'qb-in-tab' }); show(host); dealSync(host, recordId, null, back);
        }, 'primary', { id: 'qb-sync' }),
        doc ? button(t('refresh'), function (b) {
          b.disabled = true; asked = true;
          api('POST', '/deals/' + recordId + '/refresh').then(load).catch(failed);
        }, null, { disabled: asked || r.refreshing }) : null);
      var history = (r.syncs || []).slice().reverse().slice(0, 5).map(function (s) {
        return [t('kind.' + s.kind), stateLabel(s.state), s.outcome || ''];
      });
      var down = r.bitrix24_outage ? section(null, h('p', {}, outageNote(r.bitrix24_outage))) : null;
      var historyBox = history.length ? section(t('deal.history'), table([t('sync.document'), t('deal.status'), t('log.what')], history, 'qb-history')) : null;
      var customer = c ? facts([[t('party.balance'), money(c.balance, c.currency || r.home_currency)],
        c.credit_limit ? [t('party.credit_limit'), money(c.credit_limit, c.currency || r.home_currency)] : null]) : null;
      if (!doc) {
        show(down, section(null, creditWarning(c), h('p', { class: 'qb-muted', id: 'qb-none' }, t('deal.none')), actions), historyBox);
        return;
      }
      var currency = doc.currency || r.currency || r.home_currency || '';
      show(down, section(t('kind.' + doc.kind) + ' ' + (doc.number || ''),
        creditWarning(c),
        facts([[t('deal.date'), day(doc.date)], doc.due ? [t('deal.due'), day(doc.due)] : null,
          [t('deal.status'), statusBadge(doc.status) || '—'], [t('deal.total'), money(doc.total, currency)],
          doc.kind === 'Invoice' ? [t('deal.balance'), h('strong', { id: 'qb-balance' }, money(doc.balance, currency))] : null,
          doc.days_overdue ? [t('deal.overdue'), h('span', { class: 'qb-warn' }, t('party.days_overdue', { days: doc.days_overdue }))] : null]),
        doc.difference !== undefined && Number(doc.difference) !== 0 ? h('p', { class: 'qb-warn', id: 'qb-difference' },
          t('deal.difference', { qb: money(doc.total, currency), b24: money(doc.bitrix24_total, currency), difference: money(doc.difference, currency) })) : null,
        doc.status === 'voided' || doc.status === 'deleted' ? h('p', { class: 'qb-warn', id: 'qb-gone' }, t('deal.' + doc.status + '_hint')) : null,
        asked || r.refreshing ? h('p', { class: 'qb-muted' }, t('asking_qb')) : h('p', { class: 'qb-muted' }, t('as_of', { time: when(doc.as_of) })),
        actions),
      c ? section(t('deal.customer', { name: c.name || '' }), customer) : null,
      (doc.payments || []).length ? section(t('deal.payments'), table([t('deal.date'), t('deal.number'), t('sync.amount')],
        doc.payments.map(function (p) { return [day(p.date), p.ref || '', money(Math.abs(Number(p.amount)), currency)]; }))) : null,
      (doc.lines || []).length ? section(t('deal.lines'), table([t('sync.item'), t('sync.line'), t('sync.qty'), t('sync.rate'), t('sync.amount')],
        doc.lines.map(function (l) { return [l.item || '', l.description || '', qty(l.quantity), money(l.rate), money(l.amount, currency)]; }), 'qb-lines')) : null,
      (r.documents || []).length > 1 ? section(t('deal.documents'), table([t('sync.document'), t('deal.date'), t('deal.status'), t('deal.total'), t('deal.balance')],
        r.documents.map(function (x) {
          return [t('kind.' + x.kind) + ' ' + (x.number || ''), day(x.date), statusBadge(x.status) || '—', money(x.total, currency), money(x.balance, currency)];
        }), 'qb-documents')) : null,
      historyBox);
    }
    document.addEventListener('visibilitychange', load);
    follow();
  }

  // -- the contact and company tabs ---------------------------------------------------------------------
  function partyTab(type) {
    if (!recordId) return unknownRecord();
    var path = '/parties/' + type + '/' + recordId;
    var polling = false;
    function load(auto) {
      api('GET', path + '/quickbooks' + (auto ? '?auto=1' : '')).then(render).catch(failed);
    }
    function keepPolling(on) {
      if (on && !polling) { polling = true; every(2000, function () { load(false); }); }
      if (!on && polling) { polling = false; stopAll(); }
    }
    function render(r) {
      var linking = r.linking || {};
      keepPolling(r.refreshing || linking.state === 'looking' || linking.state === 'creating');
      var others = r.currencies || [];
      if (!r.linked && !others.length) { show(linkForm(linking)); return; }
      var read = r.statement || (others.filter(function (o) { return o.statement; })[0] || {}).statement;  // one job reads all
      var status = [h('p', { class: 'qb-muted' }, r.refreshing ? t('asking_qb') : read ? t('as_of', { time: when(read.as_of) }) : ''),
        h('div', { class: 'qb-actions' }, button(t('refresh'), function (b) {
          b.disabled = true; api('POST', path + '/refresh').then(function () { load(false); });
        }, null, { disabled: r.refreshing }))];
      var shown = [];
      // the home currency's customer as before; each other currency's customer apart, never added up
      var homeCode = r.currency || (r.statement && r.statement.customer.currency) || '';
      if (r.linked) shown = shown.concat(customerView(r.linked.name, r.statement, homeCode, '', r.credit, status, others.length && homeCode));
      if (others.length) shown.push(h('p', { class: 'qb-muted', id: 'qb-currencies-note' }, t('party.currencies_note')));
      others.forEach(function (o, i) {
        shown = shown.concat(customerView(o.linked.name, o.statement, o.currency, o.currency, o.credit, !r.linked && i === 0 ? status : [], o.currency));
      });
      if (!r.linked) shown.push(linkForm(linking));  // a client with only other currencies' customers
      show.apply(null, shown);
    }
    // one customer's statement: ids and sections marked with the currency ("-EUR") unless the home one;
    // titled with its currency when the client has customers in several
    function customerView(name, st, cur, code, c, extra, titled) {
      var sfx = code ? '-' + code : '';
      function mark(box) { if (code) box.setAttribute('data-currency', code); return box; }
      var head = mark(section(titled ? t('party.in_currency', { currency: titled }) : null,
        h('p', { class: 'qb-linked', id: code ? 'qb-linked' + sfx : null }, t('party.linked', { name: name })),
        c && c.over_limit ? h('div', { class: 'qb-alert qb-alert-warn', role: 'alert', id: 'qb-credit' + sfx },
          t('credit.over', { name: c.name || '', balance: amountText(c.balance, cur), limit: amountText(c.credit_limit, cur) })) : null,
        st ? facts([[t('party.balance'), h('strong', { id: 'qb-balance' + sfx }, money(st.customer.balance, cur))],
          [t('party.credit_limit'), money(st.customer.credit_limit, cur)], [t('party.terms'), st.customer.terms || '—']]) : null,
        extra));
      if (!st) return [head];
      var aging = ['current', '1-30', '31-60', '61-90', 'over 90'].filter(function (k) { return k in st.aging; }).map(function (k) { return [t('party.aging.' + k), money(st.aging[k], cur)]; });
      return [head,
        section(t('party.open_invoices'),
          st.open_invoices.length ? h('div', { class: 'qb-scroll', id: 'qb-invoices' + sfx }, table([t('deal.number'), t('deal.due'), t('deal.total'), t('deal.balance'), t('deal.status')],
            st.open_invoices.map(function (i) {
              return [i.number || '', day(i.due || i.date), money(i.total, cur), money(i.balance, cur),
                h('span', {}, statusBadge(i.status), i.days_overdue ? ' ' + t('party.days_overdue', { days: i.days_overdue }) : '')];
            }))) : h('p', { class: 'qb-muted' }, t('none')),
          h('h3', {}, t('party.aging')), table(aging.map(function (a) { return a[0]; }), [aging.map(function (a) { return a[1]; })], 'qb-aging')),
        section(t('party.payments'), st.payments.length ? table([t('deal.date'), t('deal.number'), t('sync.amount'), t('party.method'), t('party.applied')],
          st.payments.map(function (p) { return [day(p.date), p.number || '', money(p.amount, cur), p.method || '', (p.applied_to || []).join(', ')]; }), 'qb-payments')
          : h('p', { class: 'qb-muted' }, t('none'))),
        section(t('party.estimates'), st.estimates.length ? table([t('deal.number'), t('deal.date'), t('deal.total')],
          st.estimates.map(function (e) { return [e.number || '', day(e.date), money(e.total, cur)]; })) : h('p', { class: 'qb-muted' }, t('none'))),
        section(t('party.credits'), (st.credits || []).length ? table([t('deal.number'), t('deal.date'), t('deal.total'), t('party.remaining'), t('deal.status')],
          st.credits.map(function (m) { return [m.number || '', day(m.date), money(m.total, cur), money(m.remaining, cur), statusBadge(m.status)]; }), 'qb-credits')
          : h('p', { class: 'qb-muted' }, t('none'))),
        section(t('party.refunds'), (st.refunds || []).length ? table([t('deal.date'), t('deal.number'), t('sync.amount'), t('party.method'), t('party.refund_of')],
          st.refunds.map(function (f) { return [day(f.date), f.number || '', money(f.amount, cur), f.method || '', (f.credits || []).join(', ')]; }), 'qb-refunds')
          : h('p', { class: 'qb-muted' }, t('none'))),
        st.balance_check ? section(t('party.check'), facts([
          [t('party.check.invoices'), money(st.balance_check.open_invoices, cur)],
          [t('party.check.credits'), money(st.balance_check.open_credits, cur)],
          [t('party.check.unused'), money(st.balance_check.unused_payments, cur)],
          [t('party.check.listed'), h('strong', { id: 'qb-listed' + sfx }, money(st.balance_check.listed, cur))]]),
          Number(st.balance_check.not_listed || 0) !== 0 ? h('p', { class: 'qb-warn', id: 'qb-not-listed' + sfx }, t('party.check.other', { amount: money(st.balance_check.not_listed, cur) })) : null) : null
      ].filter(Boolean).map(mark);
    }
    function linkForm(linking) {
      var input = h('input', { id: 'qb-name', type: 'text', maxlength: '209', autocomplete: 'off' });
      function send(create) {
        var body = { name: input.value.trim(), create: create };
        api('POST', path + '/link', body).then(function () { load(false); }).catch(failed);
      }
      var state = linking.state;
      return section(null, h('p', {}, t('party.not_linked')), h('p', { class: 'qb-muted' }, t('party.link_hint')),
        h('label', { for: 'qb-name' }, t('party.name')), input,
        h('div', { class: 'qb-actions' }, button(t('party.link'), function () { send(false); }, 'primary', { disabled: state === 'looking' || state === 'creating' }),
          button(t('party.create'), function () { send(true); }, null, { disabled: state === 'looking' || state === 'creating' })),
        state === 'looking' ? h('p', { class: 'qb-muted' }, t('party.link.looking')) : null,
        state === 'creating' ? h('p', { class: 'qb-muted' }, t('party.link.creating')) : null,
        state === 'not_found' || state === 'failed' ? h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, linking.message || '') : null);
    }
    load(true);
  }

  // -- the app page -------------------------------------------------------------------------------------
  function appPage() {
    var tabs = ['setup', 'health', 'settings', 'first_sync', 'log'];
    var panel = h('div', { id: 'qb-panel', role: 'tabpanel' });
    var nav = h('div', { class: 'qb-tabs', role: 'tablist' }, tabs.map(function (name) {
      return h('button', { type: 'button', role: 'tab', id: 'qb-tab-' + name, 'aria-selected': 'false',
        onclick: function () { open(name); }, onkeydown: function (e) {
          var i = tabs.indexOf(name);
          if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
            var next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
            open(next); document.getElementById('qb-tab-' + next).focus();
          }
        } }, t('tab.' + name));
    }));
    show(h('h1', {}, t('app.title')), nav, panel);
    var generation = 0;  // an answer for a tab no longer shown is dropped
    function guard(fn) { var gen = generation; return function () { if (gen === generation) return fn.apply(null, arguments); }; }
    function open(name) {
      stopAll();
      generation++;
      tabs.forEach(function (n) {
        var b = document.getElementById('qb-tab-' + n);
        b.setAttribute('aria-selected', n === name ? 'true' : 'false');
        b.tabIndex = n === name ? 0 : -1;
      });
      panel.textContent = '';
      add(panel, h('p', { class: 'qb-muted' }, t('loading')));
      ({ setup: setup, health: health, settings: settingsTab, first_sync: firstSync, log: syncLog })[name]();
      if (name === 'health') every(5000, health);  // a cause shows up, and clears, without a reload
    }
    function into() { panel.textContent = ''; for (var i = 0; i < arguments.length; i++) add(panel, arguments[i]); fit(); }
    function oops(e) { into(h('div', { class: 'qb-alert qb-alert-error', role: 'alert' }, e.message)); }

    function setup() {
      api('GET', '/agents').then(guard(function (r) {
        var code = h('div', { id: 'qb-code' });
        var agents = r.agents.length ? table([t('setup.computer'), t('deal.status'), t('health.file'), ''], r.agents.map(function (a) {
          return [a.name, a.revoked ? badge(t('setup.revoke'), 'grey') : badge(a.online ? t('setup.online') : t('setup.offline'), a.online ? 'green' : 'red'),
            a.company_file || '—',
            isAdmin && !a.revoked ? button(t('setup.revoke'), function () { api('POST', '/agents/' + a.agent_id, { revoke: true }).then(setup).catch(oops); }) : ''];
        })) : h('p', { class: 'qb-muted' }, t('setup.no_agents'));
        var builds = (r.downloads || []).map(function (d) {
          return h('li', {}, h('a', { href: d.url, download: d.name, class: 'qb-download' }, d.name),
            ' ', h('span', { class: 'qb-muted' }, t('setup.wheel', { kb: Math.round(d.size / 1024) })));
        });
        var agentPage = 'http://localhost:' + AGENT_PORT + '/';
        into(section(null, h('ol', { class: 'qb-wizard' },
          h('li', {}, t('setup.step1'),
            builds.length ? h('ul', { class: 'qb-downloads' }, builds) : h('p', { class: 'qb-muted' }, t('setup.no_build')),
            h('p', { class: 'qb-muted' }, t('setup.run'))),
          h('li', {}, t('setup.step2'), isAdmin ? button(t('setup.code'), function (b) {
            b.disabled = true;
            api('POST', '/pairing-code').then(function (c) {
              var link = agentPage + '?code=' + encodeURIComponent(c.code) + '&server=' + encodeURIComponent(location.origin) + '&lang=' + encodeURIComponent(lang || 'en');
              code.textContent = '';
              add(code, [h('p', {}, t('setup.paste')),
                h('pre', { class: 'qb-code', id: 'qb-pairing-code' }, c.code),
                h('p', {}, h('a', { href: link, target: '_blank', rel: 'noopener', id: 'qb-agent-link', class: 'qb-btn qb-btn-primary' }, t('setup.open_agent'))),
                h('p', { class: 'qb-muted' }, t('setup.server', { server: location.origin })),
                h('p', { class: 'qb-muted' }, t('setup.code_valid', { minutes: c.expires_in_minutes })),
                h('details', {}, h('summary', {}, t('setup.operators')),
                  h('pre', { class: 'qb-code' }, 'qb-agent pair ' + c.code + ' --server ' + location.origin))]);  // add() takes one child (or a list)
              b.disabled = false; fit();
            }).catch(oops);
          }, 'primary') : h('p', { class: 'qb-muted' }, t('admin_only')), code),
          h('li', {}, t('setup.step3')),
          h('li', {}, t('setup.step4'), connectorPicture()),
          h('li', {}, t('setup.step5'), h('p', { class: 'qb-muted' }, t('setup.faster'))))),
        section(t('setup.agents'), agents));
      })).catch(guard(oops));
    }
    function connectorPicture() {
      var img = h('img', { src: '/static/web-connector.svg', alt: t('setup.picture'), class: 'qb-picture', width: '520' });
      img.addEventListener('load', fit);
      return h('figure', {}, img, h('figcaption', { class: 'qb-muted' }, t('setup.picture')));
    }
    function health() {
      api('GET', '/status').then(guard(function (s) {
        var session = s.last_session || {}, err = s.last_error;
        into(section(null, facts([
          [t('health.portal'), s.state === 'attention' ? h('span', { class: 'qb-warn' }, t('health.attention', { reason: s.attention || '' })) : t('health.ready')],
          [t('health.b24'), s.bitrix24_outage ? outageNote(s.bitrix24_outage) : t('health.b24_ok')],
          s.why_waiting ? [t('health.why'), why(s.why_waiting)] : null,
          [t('health.agent'), s.agent_online ? h('span', {}, badge(t('setup.online'), 'green'), ' ', t('health.agent_ok')) : h('span', {}, badge(t('setup.offline'), 'red'), ' ', t('health.agent_down'))],
          [t('health.wc'), s.quickbooks_busy ? h('span', {}, badge(t('health.qb_busy'), 'yellow'), ' ', when(session.started_at)) : session.started_at ? when(session.ended_at || session.started_at) + (session.summary ? ' — ' + session.summary : '') : t('health.wc_never')],
          [t('health.file'), session.company_file || t('health.file_none')],
          [t('health.queue'), String(s.queue_depth)],
          [t('health.events'), String(s.events_waiting)],
          [t('health.error'), err ? h('span', { class: 'qb-warn' }, when(err.at) + ': ' + (err.message || '') + (err.what_to_do ? ' — ' + err.what_to_do : '')) : t('health.error_none')]
        ])));
      })).catch(guard(oops));
    }
    function settingsTab() {
      Promise.all([api('GET', '/settings'), api('GET', '/pipelines').catch(function () { return { pipelines: [] }; })])
        .then(guard(function (got) {
          var v = got[0].settings, pipelines = got[1].pipelines, msg = h('p', { role: 'status' });
          function select(id, options, current) {
            return h('select', { id: id, disabled: !isAdmin }, options.map(function (o) {
              return h('option', { value: o[0], selected: String(current) === String(o[0]) }, o[1]);
            }));
          }
          function check(id, on) { return h('input', { type: 'checkbox', id: id, checked: !!on, disabled: !isAdmin }); }
          function field(id, label, control) {
            return h('div', { class: 'qb-field' }, h('label', { for: id }, label), control);
          }
          var sides = [['qb', t('side.qb')], ['b24', t('side.b24')]];
          var kind = select('set-document_kind', ['Invoice', 'Estimate', 'SalesOrder'].map(function (k) { return [k, t('kind.' + k)]; }), v.document_kind);
          var winner = select('set-conflict.winner', sides, v['conflict.winner']);
          var winners = ['title', 'phones', 'emails'].map(function (f) {
            return [f, select('set-winner-' + f, [['', t('settings.as_default')]].concat(sides), (v['conflict.winners'] || {})[f] || '')];
          });
          var invoices = check('set-invoices.to_b24', v['invoices.to_b24']);
          var paused = check('set-bulk.paused', v['bulk.paused']);
          var estimates = check('set-estimates.to_b24', v['estimates.to_b24']);
          var rules = ['email', 'phone', 'name'].map(function (r) { return [r, check('set-rule-' + r, (v['matching.rules'] || []).indexOf(r) >= 0)]; });
          // the sales rep is one QuickBooks has: a select filled from its list, read live when the tab opens
          var chosenRep = v['salesrep.default'] || '';
          var rep = h('select', { id: 'set-salesrep.default', disabled: true });
          var repState = h('p', { class: 'qb-muted', id: 'qb-salesrep-state', role: 'status' });
          add(rep, h('option', { value: chosenRep, selected: true }, chosenRep ? '…' : t('settings.salesrep.none')));
          function fillReps(r) {
            var keep = rep.value || chosenRep, options = [['', t('settings.salesrep.none')]], listed = false;
            (r.reps || []).forEach(function (x) {
              options.push([x.list_id, x.initial + (x.name ? ' — ' + x.name : '')]);
              if (x.list_id === keep) listed = true;
            });
            if (keep && !listed && !r.reading) options.push([keep, t('settings.salesrep.gone', { value: (r.initials || {})[keep] || '?' })]);
            if (keep && !listed && r.reading) options.push([keep, (r.initials || {})[keep] || '…']);  // kept as it is until read
            rep.textContent = '';
            options.forEach(function (o) { add(rep, h('option', { value: o[0], selected: o[0] === keep }, o[1])); });
            rep.value = keep;
            rep.disabled = !isAdmin || !!r.reading;
            repState.textContent = r.reading ? t('settings.salesrep.reading') : (r.error || '');
            return !r.reading;
          }
          function loadReps(auto) {
            return api('GET', '/sales-reps' + (auto ? '?auto=1' : '')).then(guard(fillReps));
          }
          loadReps(true).then(guard(function (done) {
            if (done) return;
            var poll = every(2000, function () {
              loadReps(false).then(guard(function (finished) { if (finished) { clearInterval(poll); fit(); } })).catch(function () {});
            });
          })).catch(function (err) { repState.textContent = err.message; });
          var onDelete = select('set-deal_deleted', ['nothing', 'void'].map(function (k) { return [k, t('settings.deal_deleted.' + k)]; }), v.deal_deleted || 'nothing');
          var gone = (got[0].deleted_deals || []).map(function (d) {
            return [t('settings.deleted.deal', { id: d.deal_id }), t('kind.' + d.kind) + ' ' + (d.number || ''), t('deleted.' + d.outcome, { detail: d.detail || '' })];
          });
          var classes = pipelines.map(function (pl) {
            return [String(pl.id), pl.name, h('input', { type: 'text', id: 'set-class-' + pl.id, maxlength: '159', disabled: !isAdmin,
              value: (v['class.pipelines'] || {})[String(pl.id)] || '', placeholder: t('settings.class.none') })];
          });
          var stages = pipelines.map(function (pl) {
            return [String(pl.id), pl.name, select('set-stage-' + pl.id, [['', t('settings.stay')]].concat(pl.stages), (v.paid_stages || {})[String(pl.id)] || '')];
          });
          var form = h('form', { class: 'qb-form' },
            h('fieldset', {}, h('legend', {}, t('settings.group.documents')),
              field('set-document_kind', t('settings.document_kind'), kind),
              h('div', { class: 'qb-field' }, invoices, ' ', h('label', { for: 'set-invoices.to_b24', class: 'qb-inline' }, t('settings.invoices.to_b24'))),
              h('div', { class: 'qb-field' }, estimates, ' ', h('label', { for: 'set-estimates.to_b24', class: 'qb-inline' }, t('settings.estimates.to_b24'))),
              field('set-salesrep.default', t('settings.salesrep.default'), rep), repState),
            h('fieldset', {}, h('legend', {}, t('settings.group.quickbooks')),
              h('div', { class: 'qb-field' }, paused, ' ', h('label', { for: 'set-bulk.paused', class: 'qb-inline' }, t('settings.bulk.paused'))),
              h('p', { class: 'qb-muted' }, t('settings.bulk.hint'))),
            h('fieldset', {}, h('legend', {}, t('settings.group.conflicts')),
              field('set-conflict.winner', t('settings.conflict.winner'), winner),
              winners.map(function (w) { return field('set-winner-' + w[0], t('settings.winner.' + w[0]), w[1]); })),
            h('fieldset', {}, h('legend', {}, t('settings.group.matching')),
              h('p', { class: 'qb-muted' }, t('settings.matching.hint')),
              rules.map(function (r) { return h('div', { class: 'qb-field' }, r[1], ' ', h('label', { for: 'set-rule-' + r[0], class: 'qb-inline' }, t('settings.rule.' + r[0]))); })),
            h('fieldset', {}, h('legend', {}, t('settings.group.stages')),
              stages.length ? stages.map(function (st) { return field('set-stage-' + st[0], st[1], st[2]); }) : h('p', { class: 'qb-muted' }, t('none'))),
            h('fieldset', {}, h('legend', {}, t('settings.group.classes')),
              h('p', { class: 'qb-muted' }, t('settings.class.hint')),
              classes.map(function (c) { return field('set-class-' + c[0], c[1], c[2]); })),
            h('fieldset', {}, h('legend', {}, t('settings.group.deleted')),
              field('set-deal_deleted', t('settings.deal_deleted'), onDelete),
              h('p', { class: 'qb-muted' }, t('settings.deleted.hint')),
              gone.length ? h('div', { class: 'qb-scroll', id: 'qb-deleted-deals' }, h('p', {}, t('settings.deleted.recent')), table(['', t('sync.document'), t('log.what')], gone)) : null),
            isAdmin ? h('button', { type: 'submit', class: 'qb-btn qb-btn-primary' }, t('save')) : h('p', { class: 'qb-muted' }, t('admin_only')), msg);
          form.addEventListener('submit', function (e) {
            e.preventDefault();
            var chosenWinners = {}, chosenStages = {};
            winners.forEach(function (w) { if (w[1].value) chosenWinners[w[0]] = w[1].value; });
            stages.forEach(function (st) { chosenStages[st[0]] = st[2].value; });
            var changes = {
              document_kind: kind.value, 'conflict.winner': winner.value, 'conflict.winners': chosenWinners,
              'invoices.to_b24': invoices.checked, 'estimates.to_b24': estimates.checked, 'bulk.paused': paused.checked,
              'matching.rules': rules.filter(function (r) { return r[1].checked; }).map(function (r) { return r[0]; }),
              'salesrep.default': rep.value || null, paid_stages: chosenStages, deal_deleted: onDelete.value,
              'class.pipelines': classes.reduce(function (m, c) { m[c[0]] = c[2].value.trim(); return m; }, {})
            };
            api('POST', '/settings', changes).then(function () { msg.textContent = t('saved'); msg.className = 'qb-ok'; })
              .catch(function (err) { msg.textContent = err.message; msg.className = 'qb-warn'; });
          });
          into(section(null, form));
        })).catch(guard(oops));
    }
    function firstSync() {
      var loaded = guard(function (r) { render(r); }), failed_ = guard(oops);
      function load() { api('GET', '/initial-sync').then(loaded).catch(failed_); }
      function render(r) {
        var st = r.state, reviews = (r.review || []).concat(r.items_review || []);
        var phases = [['first.phase.customers', r.state], ['first.phase.items', r.items], ['first.phase.documents', r.documents]];
        var started = phases.some(function (ph) { return ph[1]; });
        var finished = phases.filter(function (ph) { return ph[1] && ph[1].state === 'done'; }).length;
        var working = started && finished < phases.length;
        var pct = !started ? 0 : Math.max(5, Math.round(100 * finished / phases.length));
        if (working && !timers.length) every(2000, load);
        if (!working) stopAll();
        into(section(null,
          started ? h('ul', { class: 'qb-phases' }, phases.map(function (ph) {
            var known = { 'reading QuickBooks': 'first.s.reading', 'creating in QuickBooks': 'first.s.creating', done: 'first.s.done' };
            var state = ph[1] ? (known[ph[1].state] ? t(known[ph[1].state]) : ph[1].state) : t('first.waiting');
            return h('li', {}, t(ph[0]) + ': ', ph[1] && ph[1].state === 'done' ? badge(state, 'green') : badge(state, 'blue'));
          })) : h('p', { class: 'qb-muted' }, t('first.not_started')),
          h('div', { class: 'qb-progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(pct) },
            widthOf(h('div', { class: 'qb-progress-bar' }), pct)),
          st && st.matched !== undefined ? h('p', {}, t('first.counts', { matched: st.matched, review: st.review || 0,
            created_in_bitrix24: st.created_in_bitrix24 || 0, created_in_quickbooks: st.created_in_quickbooks || 0 })) : null,
          isAdmin && !working ? button(t(finished === phases.length ? 'first.again' : 'first.start'), function (b) { b.disabled = true; api('POST', '/initial-sync').then(load).catch(oops); }, 'primary') : null),
        section(t('first.review'), reviews.length ? h('ul', { class: 'qb-review' }, reviews.map(reviewRow)) : h('p', { class: 'qb-muted' }, t('first.review_none'))));
      }
      function reviewRow(rv) {
        var names = rv.names || {};
        var select = h('select', { 'aria-label': t('first.choose') + ' ' + (rv.name || '') },
          rv.candidates.map(function (c) { return h('option', { value: c }, names[c] || c); }));
        return h('li', {}, h('strong', {}, rv.name || rv.b24), ' — ', rv.reason || '', ' ',
          isAdmin && rv.candidates.length ? h('span', {}, select, ' ', button(t('first.choose'), function (b) {
            b.disabled = true;
            api('POST', '/initial-sync/review', { b24: rv.b24, list_id: select.value }).then(load).catch(oops);
          })) : null);
      }
      load();
    }
    function syncLog() {
      var filter = h('select', { id: 'qb-log-filter', 'aria-label': t('log.filter') },
        [['', 'log.all'], ['failed', 'log.failed'], ['done', 'log.done'], ['queued', 'log.waiting']].map(function (o) { return h('option', { value: o[0] }, t(o[1])); }));
      var list = h('div', {});
      filter.addEventListener('change', load);
      into(section(null, h('label', { for: 'qb-log-filter' }, t('log.filter') + ' '), filter, list));
      function load() {
        api('GET', '/syncs' + (filter.value ? '?state=' + encodeURIComponent(filter.value) : '')).then(guard(function (r) {
          list.textContent = '';
          add(list, r.syncs.length ? h('div', { class: 'qb-scroll' }, table([t('log.when'), t('log.deal'), t('sync.document'), t('deal.status'), t('log.what'), ''],
            r.syncs.map(function (s) {
              return [h('span', { class: 'qb-when' }, when(new Date(s.started_at * 1000).toISOString())), s.deal_id, t('kind.' + s.kind), stateLabel(s.state),
                h('span', {}, s.outcome || '', s.fix ? h('br') : null, s.fix ? h('span', { class: 'qb-muted' }, s.fix) : null),
                s.state === 'failed' ? button(t('retry'), function (b) { b.disabled = true; api('POST', '/syncs/' + s.sync_id + '/retry').then(load).catch(oops); }, null, { class: 'qb-btn qb-retry' }) : ''];
            }), 'qb-log')) : h('p', { class: 'qb-muted' }, t('log.empty')));
          fit();
        })).catch(guard(oops));
      }
      var guarded = guard(load);
      filter.removeEventListener('change', load);
      filter.addEventListener('change', function () { guarded(); });
      load();
    }
    open(isAdmin ? 'setup' : 'health');
  }

  function start() {
    if (page === 'deal-sync') { if (!recordId) return unknownRecord(); root.textContent = ''; dealSync(root, recordId); }
    else if (page === 'deal-tab') dealTab();
    else if (page === 'contact-tab') partyTab('contact');
    else if (page === 'company-tab') partyTab('company');
    else appPage();
  }
  // inside Bitrix24 the bridge answers init; a page opened on its own (no parent frame) starts at once
  if (window.BX24 && BX24.init && window.parent !== window) BX24.init(start); else start();
})();

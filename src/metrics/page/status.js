// lvsd status page: fetches /status.json every 2 s and redraws. Builds the DOM
// with textContent only (no HTML from the document is ever parsed). The
// browser test (test/metrics/status-page.test.ts) reads the data-* attributes
// and classes: tr.rs[data-vs][data-rs][data-health], rs-up / rs-down,
// tr.instance[data-instance][data-state], #events li[data-kind][data-subject][data-to].
'use strict';
(function () {
  var REFRESH_MS = 2000;
  var lastOk = null;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'class') e.className = attrs[k];
      else if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function td(text, cls) { return el('td', { class: cls || '', text: text == null ? '' : String(text) }); }
  function ago(iso) {
    var s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (!isFinite(s)) return '';
    if (s < 0) s = 0;
    if (s < 90) return s + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 129600) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }
  function clock(iso) { var d = new Date(iso); return isNaN(d) ? iso : d.toLocaleString(); }
  function rate(bps) { return bps >= 1e6 ? (bps / 1e6).toFixed(1) + ' MB/s' : bps >= 1e3 ? (bps / 1e3).toFixed(1) + ' kB/s' : bps + ' B/s'; }
  function replace(node, children) { while (node.firstChild) node.removeChild(node.firstChild); children.forEach(function (c) { node.appendChild(c); }); }
  function show(id, on) { document.getElementById(id).hidden = !on; }

  function instanceRow(i) {
    var tracks = el('ul', { class: 'tracks' }, i.tracking.map(function (t) {
      var sign = t.contribution > 0 ? '+' : '';
      return el('li', { class: t.state === 'up' ? 'up' : 'down', text: t.kind + ' ' + t.name + ' ' + t.state + (t.weight ? ' (weight ' + t.weight + ', ' + sign + t.contribution + ')' : t.state === 'up' ? '' : ' (FAULT)') });
    }));
    var why = i.tracking.length ? tracks : document.createTextNode(i.effectivePriority === i.basePriority ? 'configured' : 'tracking');
    var last = i.lastTransition;
    return el('tr', { class: 'instance state-' + i.state, 'data-instance': i.name, 'data-state': i.state }, [
      el('td', {}, [el('strong', { text: i.name }), i.syncGroup ? el('div', { class: 'sub', text: 'group ' + i.syncGroup }) : null]),
      el('td', {}, [el('span', { class: 'badge', text: i.state })]),
      td((i.vrid == null ? '?' : i.vrid) + ' / ' + (i.interface || '?')),
      td(i.effectivePriority + (i.effectivePriority !== i.basePriority ? ' (configured ' + i.basePriority + ')' : '')),
      el('td', {}, [why]),
      td(i.master ? i.master.address + ' (priority ' + i.master.priority + ')' : 'unknown'),
      el('td', {}, last ? [last.from + ' → ' + last.to + ', ' + ago(last.at), el('div', { class: 'sub', text: last.reason })] : ['none since start']),
    ]);
  }

  function rsRow(vs, rs) {
    var k = rs.kernel;
    var cls = 'rs rs-' + rs.health + (k ? '' : ' rs-out');
    var note = rs.override ? ' (' + rs.override + ')' : rs.maintenance ? ' (maintenance)' : '';
    return el('tr', { class: cls, 'data-vs': vs.name, 'data-rs': rs.name, 'data-health': rs.health, 'data-disposition': rs.disposition }, [
      el('td', {}, [el('strong', { text: rs.name }), el('div', { class: 'sub', text: rs.address })]),
      td(rs.health.toUpperCase() + note, 'health'),
      td(rs.reason),
      td(rs.configuredWeight, 'num'),
      td(k ? k.weight : 'out', 'num kweight'),
      td(k ? k.activeConns : '', 'num'),
      td(k ? k.inactConns : '', 'num'),
      td(k ? k.cps : '', 'num'),
      td(k ? rate(k.inbps) + ' / ' + rate(k.outbps) : '', 'num'),
    ]);
  }

  function vsBlock(vs) {
    var q = vs.quorum;
    var head = el('h3', {}, [
      vs.name + ' ',
      el('span', { class: 'sub', text: vs.service + ', ' + vs.scheduler + ', ' + vs.lbKind + (vs.inKernel ? '' : ', not in the kernel') + ' ' }),
      el('span', { class: 'badge ' + (q.up ? 'up' : 'down'), 'data-quorum': q.up ? 'up' : 'down', text: (q.up ? 'quorum up' : 'below quorum') + ': weight ' + q.weightSum + ', needs ' + q.quorum }),
      vs.sorryServer && vs.sorryServer.active ? el('span', { class: 'badge warn', text: 'sorry server ' + vs.sorryServer.address }) : null,
      vs.rate ? el('span', { class: 'sub', text: ' ' + vs.rate.cps + ' conn/s, ' + rate(vs.rate.inbps) + ' in, ' + rate(vs.rate.outbps) + ' out' }) : null,
    ]);
    var table = el('table', { class: 'rs-table' }, [
      el('thead', {}, [el('tr', {}, ['real server', 'health', 'reason', 'weight', 'kernel weight', 'active', 'inactive', 'conn/s', 'in / out'].map(function (h, n) { return el('th', { class: n >= 3 ? 'num' : '', text: h }); }))]),
      el('tbody', {}, vs.realServers.map(function (rs) { return rsRow(vs, rs); })),
    ]);
    return el('div', { class: 'vs', 'data-vs': vs.name }, [head, table]);
  }

  function eventItem(e) {
    var move = e.from || e.to ? (e.from || '?') + ' → ' + (e.to || '?') : '';
    return el('li', { class: 'event kind-' + e.kind + ' sev-' + e.severity + (e.to ? ' to-' + e.to : ''), 'data-kind': e.kind, 'data-subject': e.subject, 'data-to': e.to || '' }, [
      el('time', { datetime: e.at, text: clock(e.at) }),
      el('span', { class: 'kind', text: e.kind }),
      el('strong', { text: e.subject + ' ' }),
      move ? el('span', { class: 'move', text: move + ' ' }) : null,
      el('span', { class: 'msg', text: e.message }),
    ]);
  }

  function draw(doc) {
    document.getElementById('router-id').textContent = doc.lvsd.routerId;
    document.title = 'lvsd ' + doc.lvsd.routerId;
    document.getElementById('meta').textContent = 'version ' + doc.lvsd.version + ' · updated ' + clock(doc.generatedAt);
    var inst = doc.vrrp ? doc.vrrp.instances : [];
    show('vrrp-empty', inst.length === 0);
    show('instances', inst.length > 0);
    replace(document.querySelector('#instances tbody'), inst.map(instanceRow));
    var vss = doc.director ? doc.director.virtualServers : [];
    show('director-empty', vss.length === 0);
    var notes = [];
    if (doc.director && doc.director.kernelError) notes.push('the kernel could not be read: ' + doc.director.kernelError + ' (figures are the last known)');
    if (doc.director && doc.director.reconciler.errors) notes.push('reconciler errors since start: ' + doc.director.reconciler.errors + (doc.director.reconciler.lastError ? ' (last: ' + doc.director.reconciler.lastError + ')' : ''));
    var note = document.getElementById('director-note');
    note.textContent = notes.join('; ');
    note.hidden = notes.length === 0;
    replace(document.getElementById('vs-list'), vss.map(vsBlock));
    show('events-empty', doc.events.length === 0);
    replace(document.getElementById('events'), doc.events.slice().reverse().map(eventItem));
  }

  function refresh() {
    fetch('/status.json', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (doc) {
        draw(doc);
        lastOk = Date.now();
        show('stale', false);
        document.body.setAttribute('data-loaded', doc.generatedAt);
      })
      .catch(function (e) {
        var s = document.getElementById('stale');
        s.textContent = 'lvsd is not answering (' + e.message + ')' + (lastOk ? '; the figures below are from ' + ago(new Date(lastOk).toISOString()) : '');
        s.hidden = false;
      })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }
  refresh();
})();

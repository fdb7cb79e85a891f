/*
 * console.js: the staff console over the staff JSON API.
 *
 * Why no CSRF token: the token lives in sessionStorage and goes out only in
 * the Authorization header that this script sets on fetch(); there is no
 * cookie, so a page on another site cannot make the browser send a
 * credentialed request. tipd also refuses state-changing staff requests
 * that the browser marks as cross-site (Sec-Fetch-Site, Origin).
 * Everything the API returns is written with textContent, never as HTML.
 * Lease tokens of claimed cases live in sessionStorage too.
 */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var store = window.sessionStorage;
  var current = null; /* the case on screen */

  var DISPOSITIONS = {
    talk_inquiry: '谈话函询', preliminary_verification: '初步核实',
    hold: '暂存待查', close: '予以了结', file_case: '立案审查'
  };
  var PRIORITY = { urgent: '紧急', high: '高', normal: '普通', low: '低' };
  var ACTION = {
    claim: '领取', message: '回复举报人', disposition: '处置', transfer: '移交',
    release: '退回', assign: '分配', park: '搁置', expire: '领取过期'
  };
  var STATUS = {
    'new': '待领取', leased: '已领取', working: '办理中', held: '暂存',
    closed: '已办结', parked: '搁置', transferred: '已移交'
  };

  function notice(text, ok) {
    var n = $('notice');
    n.textContent = text;
    n.className = ok ? 'ok' : 'error';
  }

  function leases() {
    try { return JSON.parse(store.getItem('tipd.leases') || '{}'); } catch (e) { return {}; }
  }
  function saveLeases(l) { store.setItem('tipd.leases', JSON.stringify(l)); }

  /* One API call; resolves with the parsed body, rejects with a message. */
  function api(method, path, body) {
    var opts = {
      method: method,
      headers: { Authorization: 'Bearer ' + store.getItem('tipd.token') },
      credentials: 'omit', cache: 'no-store'
    };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var doc = null;
        try { doc = JSON.parse(t); } catch (e) { doc = null; }
        if (r.ok) return doc;
        if (r.status === 401) signOut();
        var msg = doc && doc.error ? doc.error.message : '';
        throw new Error(r.status + ' ' + msg);
      });
    });
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  // Times in Beijing time, whatever the browser's or the database's zone.
  const beijing = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
  function day(t) {
    const d = t ? new Date(t) : null;
    return d && !isNaN(d) ? beijing.format(d) : '—';
  }

  function signOut() {
    store.removeItem('tipd.token');
    store.removeItem('tipd.leases');
    $('signin').hidden = false;
    $('work').hidden = true;
    $('case').hidden = true;
    $('who').hidden = true;
  }

  function showQueues() {
    return api('GET', '/api/v1/staff/queues').then(function (qs) {
      var body = $('queues');
      clear(body);
      qs.forEach(function (q) {
        var tr = el('tr');
        tr.appendChild(el('th', q.queue)).scope = 'row';
        tr.appendChild(el('td', q.depth, 'num'));
        tr.appendChild(el('td', q.leased, 'num'));
        tr.appendChild(el('td', q.overdue, q.overdue > 0 ? 'num overdue' : 'num'));
        tr.appendChild(el('td', day(q.oldest)));
        var td = el('td');
        var b = el('button', '领取一件');
        b.type = 'button';
        b.disabled = !(q.depth > 0);
        b.setAttribute('aria-label', '从队列 ' + q.queue + ' 领取一件');
        b.addEventListener('click', function () { claim(q.queue); });
        td.appendChild(b);
        tr.appendChild(td);
        body.appendChild(tr);
      });
      showMine();
    });
  }

  function showMine() {
    var list = $('mine');
    clear(list);
    var l = leases();
    Object.keys(l).forEach(function (id) {
      var li = el('li');
      var b = el('button', '案件 ' + id);
      b.type = 'button';
      b.addEventListener('click', function () { openCase(id); });
      li.appendChild(b);
      list.appendChild(li);
    });
    if (!list.firstChild) list.appendChild(el('li', '暂无'));
  }

  function claim(queue) {
    api('POST', '/api/v1/staff/queues/' + encodeURIComponent(queue) + '/claim',
        { max: 1 }).then(function (r) {
      if (!r.cases.length) { notice('队列中没有可领取的案件。', false); return; }
      var l = leases();
      r.cases.forEach(function (c) { l[c.id] = c.lease_token; });
      saveLeases(l);
      notice('已领取案件 ' + r.cases[0].id + '。', true);
      return showQueues().then(function () { return openCase(r.cases[0].id); });
    }).catch(function (e) { notice('领取失败：' + e.message, false); });
  }

  function fact(dl, name, value) {
    dl.appendChild(el('dt', name));
    dl.appendChild(el('dd', value));
  }

  function openCase(id) {
    return api('GET', '/api/v1/staff/cases/' + encodeURIComponent(id)).then(function (c) {
      current = c;
      $('case').hidden = false;
      $('case-title').textContent = '案件 ' + c.id;
      var dl = $('case-facts');
      clear(dl);
      fact(dl, '状态', STATUS[c.status] || c.status);
      fact(dl, '队列', c.queue);
      fact(dl, '优先级', PRIORITY[c.priority] || c.priority);
      fact(dl, '类别', c.category || '—');
      fact(dl, '举报件数', c.report_count);
      fact(dl, '办理期限', day(c.due_at));
      if (c.lease) fact(dl, '领取到期', day(c.lease.expires_at));
      if (c.disposition) fact(dl, '处置', DISPOSITIONS[c.disposition] || c.disposition);

      var reports = $('case-reports');
      clear(reports);
      (c.reports || []).forEach(function (r, i) {
        var box = el('div', null, 'report');
        box.appendChild(el('h4', (i === 0 ? '举报 ' : '重复举报 ') + r.id +
          '（' + r.channel + '，' + day(r.received_at) + '）'));
        var a = r.accused || {};
        box.appendChild(el('p', '被举报人：' + [a.name, a.unit, a.position, a.rank]
          .filter(Boolean).join('，') + (r.region ? '（地区 ' + r.region + '）' : '')));
        box.appendChild(el('p', r.content, 'content'));
        (r.messages || []).forEach(function (m) {
          box.appendChild(el('p', (m.from === 'staff' ? '工作人员：' : '举报人：') + m.body));
        });
        reports.appendChild(box);
      });
      var same = $('case-same');
      clear(same);
      (c.same_accused || []).forEach(function (o) {
        same.appendChild(el('li', '案件 ' + o.case_id + '，' + (STATUS[o.status] || o.status) +
          '，' + o.report_count + ' 件举报，' + day(o.created_at)));
      });
      if (!same.firstChild) same.appendChild(el('li', '无'));
      var hist = $('case-history');
      clear(hist);
      (c.history || []).forEach(function (h) {
        hist.appendChild(el('li', day(h.at_us / 1000) + ' ' + (ACTION[h.action] || h.action) + (h.staff_id ? '（工作人员 ' + h.staff_id + '）' : '')));
      });
      $('case-title').focus();
    }).catch(function (e) { notice('无法打开案件：' + e.message, false); });
  }

  function act(path, body, done) {
    if (!current) return;
    var id = current.id;
    api('POST', '/api/v1/staff/cases/' + id + '/' + path, body).then(function () {
      notice(done, true);
      if (path === 'transfer' || path === 'release') {
        var l = leases();
        delete l[id];
        saveLeases(l);
        $('case').hidden = true;
        current = null;
        return showQueues();
      }
      return openCase(id).then(showQueues);
    }).catch(function (e) { notice('操作失败：' + e.message, false); });
  }

  function lease() { return current ? leases()[current.id] : undefined; }

  $('case-title').tabIndex = -1;
  $('signin-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    store.setItem('tipd.token', $('token').value.trim());
    $('token').value = '';
    showQueues().then(function () {
      $('signin').hidden = true;
      $('work').hidden = false;
      $('who').hidden = false;
      notice('已登录。', true);
    }).catch(function (e) {
      store.removeItem('tipd.token');
      notice('登录失败：' + e.message, false);
    });
  });
  $('signout').addEventListener('click', signOut);
  $('refresh').addEventListener('click', function () {
    showQueues().catch(function (e) { notice('刷新失败：' + e.message, false); });
  });
  $('disposition-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    act('disposition', { lease_token: lease(), disposition: $('disposition').value,
      note: $('disposition-note').value }, '处置已记录。');
  });
  $('message-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    act('messages', { body: $('message-body').value }, '消息已发送给举报人。');
    $('message-body').value = '';
  });
  $('transfer-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    act('transfer', { lease_token: lease(), unit: $('transfer-unit').value,
      reason: $('transfer-reason').value }, '案件已移交。');
  });
  $('release-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    act('release', { lease_token: lease() }, '案件已退回队列。');
  });

  if (store.getItem('tipd.token')) {
    showQueues().then(function () {
      $('signin').hidden = true;
      $('work').hidden = false;
      $('who').hidden = false;
    }).catch(function () { signOut(); });
  }
})();

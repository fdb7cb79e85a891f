/*
 * pages.test.js: tipd's pages as people use them, in headless Chromium
 * (Debian's /usr/bin/chromium, driven by playwright-core).
 *
 * One story, in order, each step checked from what the page shows:
 *   1. JavaScript off (Tor Browser's safest mode): the form, an empty
 *      submission refused with an error summary (nothing stored), a
 *      <script> payload shown back as text, then a report with the region
 *      chosen from the one list; the receipt page and its code.
 *   2. JavaScript on: the linked province -> city -> county lists, focus on
 *      the error summary, a second report.
 *   3. /status with the first code: its state; information added; an
 *      unknown code refused next to the field.
 *   4. The staff console: sign in with a token, the queue's depth, two
 *      claims, the case with its duplicate and the same accused's other
 *      case (the payload still text), a message to the reporter, a
 *      disposition, a transfer; a cross-site write refused.
 *   5. /status again: the staff reply is there.
 * Everywhere: the E4 headers, no cookie, no request to another origin.
 * Screenshots of every page go to $SHOTS.
 *
 * Environment (run.sh): TIPD_URL, TIPD_OWNER_DATABASE (the checks read as
 * the owner; tipd itself serves as tipd_app), STAFF_TOKEN, SHOTS.
 */
'use strict';
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BASE = process.env.TIPD_URL;
const SHOTS = process.env.SHOTS;
const TOKEN = process.env.STAFF_TOKEN;
const PAYLOAD = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
const started = Date.now();
const figures = {};

function sql(q) {
  return execFileSync('psql', ['-X', '-At', '-d', process.env.TIPD_OWNER_DATABASE, '-c', q])
    .toString().trim();
}

function step(text) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

/* Readable on a phone: nothing wider than the screen (no sideways
 * scrolling). */
async function fitsPhone(page, what) {
  const [scroll, width] = await page.evaluate(
    () => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `${what}: ${scroll} px wide on a ${width} px screen`);
}

/* spec/reliability.md E4, for every HTML page. */
function checkHeaders(res, what, staff) {
  const h = res.headers();
  assert.equal(h['cache-control'], 'no-store', `${what}: Cache-Control`);
  assert.equal(h['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(h['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.equal(h['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
  assert.equal(h.server, 'tipd', `${what}: Server without a version`);
  const csp = h['content-security-policy'] || '';
  assert.match(csp, /default-src 'none'/, `${what}: CSP default-src`);
  assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.match(csp, /script-src 'self'(;|$)/, `${what}: scripts only from tipd`);
  assert.equal(h['set-cookie'], undefined, `${what}: no cookie`);
  if (!staff) assert.doesNotMatch(csp, /connect-src/, `${what}: public pages fetch nothing`);
}

/* Every request a page makes goes to tipd itself. */
function watchOrigins(page, seen) {
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(BASE + '/') && !u.startsWith('data:')) seen.push(u);
  });
}

/* Submits the page's form and returns the navigation's response. */
async function submit(page, button) {
  const [res] = await Promise.all([
    page.waitForNavigation(),
    page.click(button || 'button[type=submit]'),
  ]);
  return res;
}

function post(pathname, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(BASE + pathname, { method: 'POST', headers }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitFor(what, fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--lang=zh-CN'],
  });
  const foreign = [];
  const phone = { width: 390, height: 844 };

  /* --- 1. JavaScript off --------------------------------------------- */
  const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: phone, locale: 'zh-CN' });
  let page = await noJs.newPage();
  watchOrigins(page, foreign);
  step('no-JS: the form');
  let res = await page.goto(BASE + '/');
  assert.equal(res.status(), 200);
  checkHeaders(res, 'GET /');
  figures.form_bytes = (await res.body()).length;
  assert.equal(await page.title(), '网上举报');
  for (const name of ['content', 'region', 'accused_name', 'accused_unit',
    'accused_position', 'accused_rank', 'attachment', 'real_name',
    'reporter_name', 'reporter_contact']) {
    assert.equal(await page.locator(`[name="${name}"]`).count(), 1, `field ${name}`);
    // Every field has a label (by for= or by wrapping it).
    const labelled = await page.locator(`[name="${name}"]`).evaluate(
      (e) => e.labels && e.labels.length > 0);
    assert.ok(labelled, `field ${name} has a label`);
  }
  // The regions of the configured units, grouped by province and city.
  assert.equal(await page.locator('#region option[value="410105"]').count(), 1);
  assert.ok(await page.locator('#region optgroup').count() > 10, 'optgroups per province/city');
  await fitsPhone(page, 'the form');
  await shot(page, 'form.png');

  step('no-JS: an empty form is refused with a summary, nothing stored');
  res = await submit(page);
  assert.equal(res.status(), 422);
  checkHeaders(res, 'POST /report refused');
  assert.match(await page.title(), /^错误：/);
  const summary = page.locator('#error-summary');
  assert.match(await summary.innerText(), /请填写举报内容/);
  assert.equal(await page.locator('#content-error').count(), 1, 'message next to the field');
  assert.equal(await page.locator('#error-summary a[href="#content"]').count(), 1);
  assert.equal(await page.locator('#content').getAttribute('aria-invalid'), 'true');
  assert.equal(sql('SELECT count(*) FROM reports'), '0');
  await fitsPhone(page, 'the refused form');
  await shot(page, 'form-errors.png');

  step('no-JS: a <script> payload comes back as text');
  await page.fill('#content', PAYLOAD + ' 某局长收受贿赂');
  await page.fill('#accused_name', PAYLOAD);
  await page.check('#real_name'); // real name without a name: refused
  res = await submit(page);
  assert.equal(res.status(), 422);
  const html = (await res.body()).toString();
  assert.ok(!html.includes('<script>window.pwned'), 'payload not echoed raw');
  assert.ok(html.includes('&lt;script&gt;window.pwned=1&lt;/script&gt;'), 'payload escaped');
  assert.equal(await page.inputValue('#content'), PAYLOAD + ' 某局长收受贿赂');
  assert.equal(await page.inputValue('#accused_name'), PAYLOAD);
  assert.equal(await page.locator('img[src="x"]').count(), 0);
  assert.match(await page.locator('#reporter_name-error').innerText(), /实名举报请填写您的姓名/);
  assert.equal(sql('SELECT count(*) FROM reports'), '0');

  step('no-JS: a report with the region chosen from the one list');
  await page.uncheck('#real_name');
  await page.fill('#accused_name', '张某');
  await page.selectOption('#region', '410105');
  await page.fill('#accused_unit', '金水区某局');
  await page.fill('#accused_position', '局长');
  await page.fill('#accused_rank', '正科级');
  await page.setInputFiles('#attachment', {
    name: '证据.txt', mimeType: 'text/plain', buffer: Buffer.from('收据照片的说明'),
  });
  res = await submit(page);
  assert.equal(res.status(), 201);
  checkHeaders(res, 'receipt page');
  figures.receipt_bytes = (await res.body()).length;
  const receipt1 = (await page.locator('#receipt').innerText()).trim();
  assert.match(receipt1, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/, `receipt code ${receipt1}`);
  assert.match(await page.locator('main').innerText(), /只显示这一次/);
  assert.match(await page.locator('main').innerText(), /妥善保管/);
  assert.equal(sql(`SELECT count(*) FROM reports WHERE region = '410105'
    AND accused_name = '张某' AND accused_rank = '正科级'
    AND content = '${PAYLOAD.replace(/'/g, "''")} 某局长收受贿赂'`), '1');
  assert.equal(sql("SELECT count(*) FROM attachments WHERE filename = '证据.txt'"), '1');
  await fitsPhone(page, 'the receipt page');
  await shot(page, 'receipt.png');
  assert.deepEqual(await noJs.cookies(), [], 'no cookie (no JS)');

  /* --- 2. JavaScript on ---------------------------------------------- */
  step('JS: linked region lists, focus on the error summary');
  const js = await browser.newContext({ viewport: phone, locale: 'zh-CN' });
  page = await js.newPage();
  watchOrigins(page, foreign);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  res = await page.goto(BASE + '/');
  checkHeaders(res, 'GET / (JS)');
  assert.ok(await page.locator('#region').isHidden(), 'the one list is replaced');
  assert.ok(await page.locator('#reporter_name').isHidden(), 'real-name fields hidden until chosen');
  await page.selectOption('#region-province', '410000');
  await page.selectOption('#region-city', '410100');
  await page.selectOption('#region-county', '410102');
  assert.equal(await page.inputValue('#region'), '410102');
  await shot(page, 'form-js.png');
  res = await submit(page);
  assert.equal(res.status(), 422);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'error-summary');
  // Keyboard: the next Tab reaches the summary's link, which takes focus
  // to the field it names.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('href')), '#content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'content');
  // The choice survives the refusal, in the linked lists too.
  assert.equal(await page.inputValue('#region-county'), '410102');
  await page.fill('#content', '中原区某街道办主任违规发放补贴。');
  await page.fill('#accused_name', '李某');
  await page.check('#real_name');
  assert.ok(await page.locator('#reporter_name').isVisible());
  await page.fill('#reporter_name', '王五');
  await page.fill('#reporter_contact', '中原区某路1号');
  res = await submit(page);
  assert.equal(res.status(), 201);
  const receipt2 = (await page.locator('#receipt').innerText()).trim();
  assert.notEqual(receipt2, receipt1);
  assert.equal(sql(`SELECT count(*) FROM reports WHERE region = '410102'
    AND real_name AND accused_name = '李某'`), '1');
  assert.deepEqual(pageErrors, [], 'no script errors');
  assert.deepEqual(await js.cookies(), [], 'no cookie (JS)');

  /* Two more reports on 张某 (no JavaScript): the same text again from
   * someone else (a duplicate: it joins the first one's case) and another
   * incident (its own case, linked as the same accused). */
  step('no-JS: a duplicate and another report on the same accused');
  const report = async (content) => {
    const p = await noJs.newPage();
    watchOrigins(p, foreign);
    await p.goto(BASE + '/');
    await p.fill('#content', content);
    await p.selectOption('#region', '410105');
    await p.fill('#accused_name', '张某');
    await p.fill('#accused_unit', '金水区某局');
    await p.fill('#accused_position', '局长');
    await p.fill('#accused_rank', '正科级');
    const r = await submit(p);
    assert.equal(r.status(), 201);
    await p.close();
  };
  await report(PAYLOAD + ' 某局长收受贿赂');
  await report('张某局长去年违规操办儿子婚宴，收受下属礼金。');

  /* --- 3. /status ---------------------------------------------------- */
  step('no-JS: /status with the first code');
  page = await noJs.newPage();
  watchOrigins(page, foreign);
  res = await page.goto(BASE + '/status');
  checkHeaders(res, 'GET /status');
  await page.fill('#receipt', 'AAAAA-BBBBB-CCCCC-DDDDD');
  res = await submit(page);
  assert.equal(res.status(), 404);
  assert.match(await page.locator('#receipt-error').innerText(), /没有与此回执码对应的举报/);
  await page.fill('#receipt', receipt1.toLowerCase().replace(/-/g, ''));
  await page.fill('#message', '补充：事情发生在十月。');
  res = await submit(page);
  assert.equal(res.status(), 200);
  checkHeaders(res, 'POST /status');
  assert.match(await page.locator('main').innerText(), /您补充的材料已保存/);
  assert.equal(sql("SELECT count(*) FROM report_messages WHERE author = 'reporter'"), '1');

  /* --- 4. the staff console ------------------------------------------ */
  step('waiting for triage: two cases in 410105/default, one with a duplicate');
  await waitFor('the cases', () => sql(`SELECT count(*) FROM case_reports cr
    JOIN cases c ON c.id = cr.case_id WHERE c.unit_id = '410105'`) === '3', 30000);
  assert.equal(sql("SELECT count(*) FROM cases WHERE unit_id = '410105' AND queue = 'default'"), '2');
  // The case of the first report (and its duplicate), and the other one.
  const caseId = sql(`SELECT cr.case_id FROM case_reports cr JOIN reports r
    ON r.id = cr.report_id WHERE r.accused_name = '张某' ORDER BY r.id LIMIT 1`);
  const otherId = sql(`SELECT id FROM cases WHERE unit_id = '410105' AND id <> ${caseId}`);
  assert.equal(sql(`SELECT report_count FROM cases WHERE id = ${caseId}`), '2');

  step('console: sign in, queues, claim both, open the first');
  const staff = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  page = await staff.newPage();
  watchOrigins(page, foreign);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  res = await page.goto(BASE + '/staff/');
  checkHeaders(res, 'GET /staff/', true);
  figures.console_bytes = (await res.body()).length;
  await page.fill('#token', 'tipd_' + '0'.repeat(64));
  await page.click('#signin-form button');
  await page.waitForSelector('#notice.error');
  assert.match(await page.locator('#notice').innerText(), /登录失败：401/);
  await page.fill('#token', TOKEN);
  await page.click('#signin-form button');
  await page.waitForSelector('#work:not([hidden])');
  const row = page.locator('#queues tr', { has: page.locator('th', { hasText: /^default$/ }) });
  assert.equal(await row.locator('td').nth(0).innerText(), '2', 'depth of default');
  assert.equal(await row.locator('td').nth(2).innerText(), '0', 'overdue of default');
  await shot(page, 'console-queues.png');
  for (const depth of ['1', '0']) {
    await row.locator('button').click();
    await page.waitForSelector('#case:not([hidden])');
    await page.waitForFunction((d) => {
      const r = [...document.querySelectorAll('#queues tr')]
        .find((tr) => tr.querySelector('th').textContent === 'default');
      return r && r.querySelector('td').textContent === d;
    }, depth);
  }
  assert.equal(await page.locator('#mine li').count(), 2);
  await page.locator('#mine button', { hasText: new RegExp(`^案件 ${caseId}$`) }).click();
  await page.waitForFunction((t) => document.getElementById('case-title').textContent === t,
    `案件 ${caseId}`);
  const boxes = page.locator('#case-reports .report');
  assert.equal(await boxes.count(), 2, 'the report and its duplicate');
  assert.match(await boxes.nth(1).locator('h4').innerText(), /^重复举报/);
  assert.match(await page.locator('#case-same').innerText(), new RegExp(`案件 ${otherId}`));
  const reportText = await page.locator('#case-reports .content').first().innerText();
  assert.ok(reportText.includes(PAYLOAD), 'the payload shown as text in the console');
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'payload never ran');
  assert.match(await page.locator('#case-reports').innerText(), /补充：事情发生在十月/);
  assert.equal(sql(`SELECT status FROM cases WHERE id = ${caseId}`), 'leased');

  step('console: message the reporter, record a disposition');
  await page.fill('#message-body', '请补充具体时间和地点。');
  await page.click('#message-form button');
  await page.waitForFunction(() => /消息已发送/.test(document.getElementById('notice').textContent));
  await page.fill('#disposition-note', '拟谈话函询。<b>不是粗体</b>');
  await page.selectOption('#disposition', 'talk_inquiry');
  await page.click('#disposition-form button');
  await page.waitForFunction(() => /处置已记录/.test(document.getElementById('notice').textContent));
  assert.equal(sql(`SELECT disposition FROM cases WHERE id = ${caseId}`), 'talk_inquiry');
  assert.equal(sql(`SELECT count(*) FROM audit_log WHERE case_id = ${caseId}
    AND action IN ('claim', 'read', 'message', 'disposition')`) >= '4', true);
  await page.waitForFunction(() => /谈话函询/.test(document.getElementById('case-facts').textContent));
  await shot(page, 'console.png');

  step('console: transfer the other case to the city commission');
  await page.locator('#mine button', { hasText: new RegExp(`^案件 ${otherId}$`) }).click();
  await page.waitForFunction((t) => document.getElementById('case-title').textContent === t,
    `案件 ${otherId}`);
  await page.fill('#transfer-unit', '410100');
  await page.fill('#transfer-reason', '涉及市管干部，移交市纪委监委。');
  await page.click('#transfer-form button');
  await page.waitForFunction(() => /案件已移交/.test(document.getElementById('notice').textContent));
  assert.ok(await page.locator('#case').isHidden(), 'the transferred case leaves the screen');
  await page.waitForFunction(() => document.querySelectorAll('#mine li').length === 1);
  assert.equal(sql(`SELECT unit_id || '/' || status FROM cases WHERE id = ${otherId}`), '410100/new');

  step('console: a cross-site write is refused');
  const before = sql('SELECT count(*) FROM report_messages');
  const body = JSON.stringify({ body: '伪造' });
  const auth = { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' };
  let r = await post(`/api/v1/staff/cases/${caseId}/messages`,
    { ...auth, 'Sec-Fetch-Site': 'cross-site' }, body);
  assert.equal(r.status, 403, 'Sec-Fetch-Site: cross-site');
  r = await post(`/api/v1/staff/cases/${caseId}/messages`,
    { ...auth, Origin: 'http://evil.example' }, body);
  assert.equal(r.status, 403, 'a foreign Origin');
  assert.equal(sql('SELECT count(*) FROM report_messages'), before);
  r = await post(`/api/v1/staff/cases/${caseId}/messages`,
    { ...auth, Origin: BASE, 'Sec-Fetch-Site': 'same-origin' },
    JSON.stringify({ body: '如有新的情况，请随时补充。' }));
  assert.equal(r.status, 200, 'the same origin is served');
  assert.deepEqual(await staff.cookies(), [], 'no cookie (console)');

  /* --- 5. the reply on /status ----------------------------------------- */
  step('no-JS: the staff reply on /status');
  page = await noJs.newPage();
  watchOrigins(page, foreign);
  await page.goto(BASE + '/status');
  await page.fill('#receipt', receipt1);
  res = await submit(page);
  assert.equal(res.status(), 200);
  figures.status_bytes = (await res.body()).length;
  const main = await page.locator('main').innerText();
  assert.match(main, /请补充具体时间和地点。/);
  assert.match(main, /补充：事情发生在十月。/);
  assert.doesNotMatch(main, /伪造/, 'the refused cross-site message is nowhere');
  assert.equal(await page.locator('#state').innerText(), '正在办理');
  await fitsPhone(page, 'the status page');
  await shot(page, 'status.png');

  assert.deepEqual(foreign, [], 'requests to other origins');
  assert.deepEqual(pageErrors, [], 'no script errors');
  await browser.close();
  figures.seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log('figures: ' + JSON.stringify(figures));
  console.log(`PASS: screenshots in ${SHOTS}`);
}

main().catch((e) => {
  console.error('FAIL: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});

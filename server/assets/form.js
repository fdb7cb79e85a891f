/*
 * form.js: optional improvements of the public pages, which work fully
 * without it (Tor Browser's safest mode runs no script). It moves focus to
 * the error summary, turns the one region list into linked province ->
 * city -> county lists that set the same `region` field, and shows the
 * real-name fields only when real name is chosen. It reads and writes the
 * page only; it sends nothing anywhere.
 */
(function () {
  'use strict';

  var summary = document.getElementById('error-summary');
  if (summary) summary.focus();

  var region = document.getElementById('region');
  if (region && region.tagName === 'SELECT') linkRegions(region);

  var real = document.getElementById('real_name');
  if (real) {
    var boxes = ['reporter_name', 'reporter_contact'].map(function (id) {
      var input = document.getElementById(id);
      return input ? input.parentNode : null;
    });
    var sync = function () {
      boxes.forEach(function (box) {
        if (box) box.hidden = !real.checked;
      });
    };
    real.addEventListener('change', sync);
    sync();
  }

  /* GB/T 2260 codes nest by digits: 41xxxx is in province 410000, 4101xx
   * in city 410100. A county whose city is no unit (the districts of a
   * municipality such as 500101) is listed at the city level. */
  function linkRegions(select) {
    var units = {};
    var codes = [];
    Array.prototype.forEach.call(select.options, function (o) {
      if (!/^[0-9]{6}$/.test(o.value)) return;
      units[o.value] = o.getAttribute('data-name') || o.textContent;
      codes.push(o.value);
    });
    if (codes.length === 0) return;
    var isProvince = function (c) { return c.slice(2) === '0000'; };
    var isCity = function (c) { return !isProvince(c) && c.slice(4) === '00'; };
    var cityOf = function (c) { return c.slice(0, 4) + '00'; };
    var provinces = codes.filter(isProvince);
    var citiesOf = function (p) {
      return codes.filter(function (c) {
        return c.slice(0, 2) === p.slice(0, 2) && !isProvince(c) &&
          (isCity(c) || !units[cityOf(c)]);
      });
    };
    var countiesOf = function (city) {
      if (!isCity(city)) return [];
      return codes.filter(function (c) {
        return c.slice(0, 4) === city.slice(0, 4) && !isCity(c);
      });
    };

    var box = document.createElement('div');
    box.className = 'linked-regions';
    var make = function (id, text) {
      var label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = text;
      var s = document.createElement('select');
      s.id = id;
      box.appendChild(label);
      box.appendChild(s);
      return s;
    };
    var fill = function (s, list, blank) {
      while (s.firstChild) s.removeChild(s.firstChild);
      var o = document.createElement('option');
      o.value = '';
      o.textContent = blank;
      s.appendChild(o);
      list.forEach(function (c) {
        var x = document.createElement('option');
        x.value = c;
        x.textContent = units[c];
        s.appendChild(x);
      });
      s.disabled = list.length === 0;
    };
    var p = make('region-province', '省（自治区、直辖市）');
    var c = make('region-city', '市（地、州、盟）');
    var k = make('region-county', '县（市、区、旗）');
    var update = function () { select.value = k.value || c.value || p.value; };
    p.addEventListener('change', function () {
      fill(c, p.value ? citiesOf(p.value) : [], '全省（省级）');
      fill(k, [], '全市（市级）');
      update();
    });
    c.addEventListener('change', function () {
      fill(k, c.value ? countiesOf(c.value) : [], '全市（市级）');
      update();
    });
    k.addEventListener('change', update);

    fill(p, provinces, '请选择（不清楚可不选）');
    fill(c, [], '全省（省级）');
    fill(k, [], '全市（市级）');
    var chosen = select.value;
    if (chosen) {
      var prov = chosen.slice(0, 2) + '0000';
      if (units[prov]) {
        p.value = prov;
        fill(c, citiesOf(prov), '全省（省级）');
        var city = isProvince(chosen) ? '' :
          (units[cityOf(chosen)] ? cityOf(chosen) : chosen);
        c.value = city;
        fill(k, city ? countiesOf(city) : [], '全市（市级）');
        if (city && city !== chosen) k.value = chosen;
      }
    }
    /* The original list stays in the form (it is what is sent), hidden;
     * its label now names the first of the linked lists. */
    select.hidden = true;
    var label = document.querySelector('label[for="region"]');
    if (label) label.htmlFor = 'region-province';
    select.parentNode.insertBefore(box, select);
  }
})();

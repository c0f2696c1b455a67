// Document view of the report: renders the chosen document twice (the chosen method's rationale, the human one)
// from the JSON embedded in the page. Text is set with textContent only, so words are never parsed as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  // Scores are quantized to one character per word: index 0 = no score, 1..63 = -1..1 of the document's largest |score|.
  var CODES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
  var LEVEL = {};
  for (var c = 0; c < CODES.length; c++) LEVEL[CODES.charAt(c)] = c;

  var docSelect = document.getElementById("doc-select");
  var methodSelect = document.getElementById("method-select");
  var el = function (id) { return document.getElementById(id); };

  data.docs.forEach(function (d, i) {
    var o = document.createElement("option");
    o.value = String(i);
    o.textContent = d.id + " (gold " + d.gold + ", predicted " + d.pred + ")";
    docSelect.appendChild(o);
  });
  data.methods.forEach(function (name, i) {
    var o = document.createElement("option");
    o.value = String(i);
    o.textContent = name;
    methodSelect.appendChild(o);
  });

  function mask(spans, n) {
    var m = new Uint8Array(n);
    for (var k = 0; k + 1 < spans.length; k += 2) for (var t = spans[k]; t < spans[k + 1] && t < n; t++) m[t] = 1;
    return m;
  }

  function count(m) {
    var s = 0;
    for (var i = 0; i < m.length; i++) s += m[i];
    return s;
  }

  function fixed(v, digits) {
    return v === null || v === undefined || isNaN(v) ? "n/a" : Number(v).toFixed(digits);
  }

  // Overlap of a hard rationale with the human one, for this document only.
  function overlap(pred, gold) {
    var tp = 0, p = count(pred), g = count(gold);
    for (var i = 0; i < pred.length; i++) tp += pred[i] & gold[i];
    var precision = p ? tp / p : NaN, recall = g ? tp / g : NaN;
    var f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : (tp === 0 && p + g > 0 ? 0 : NaN);
    return "P " + fixed(precision, 3) + ", R " + fixed(recall, 3) + ", F1 " + fixed(f1, 3);
  }

  function words(target, d, styleWord) {
    var frag = document.createDocumentFragment();
    for (var i = 0; i < d.words.length; i++) {
      if (i > 0) frag.appendChild(document.createTextNode(" "));
      var s = document.createElement("span");
      s.textContent = d.words[i];
      styleWord(s, i);
      frag.appendChild(s);
    }
    target.textContent = "";
    target.appendChild(frag);
  }

  function render() {
    var d = data.docs[Number(docSelect.value)];
    var mi = Number(methodSelect.value);
    if (!d) return;
    var n = d.words.length;
    var human = mask(d.human, n);
    el("doc-info").textContent = "Gold label: " + d.gold + " \u00b7 predicted: " + d.pred + " (p = " + fixed(d.prob, 3)
        + ") \u00b7 " + n + " words";
    el("method-title").textContent = data.methods[mi] !== undefined ? data.methods[mi] : "";
    el("human-stats").textContent = count(human) + " words in the human rationale";
    words(el("human-text"), d, function (s, i) { if (human[i]) s.className = "gold"; });

    var a = d.a[mi];
    if (!a) {
      el("method-stats").textContent = "This method has no explanation of this document.";
      words(el("method-text"), d, function () {});
      return;
    }
    var hard = mask(a.r, n);
    el("method-stats").textContent = count(hard) + " words in the rationale \u00b7 against the human rationale: "
        + overlap(hard, human);
    words(el("method-text"), d, function (s, i) {
      var level = LEVEL[a.q.charAt(i)] || 0;
      if (level === 0) {
        s.title = "no score";
      } else {
        var v = (level - 32) / 31;
        var alpha = (0.08 + 0.72 * Math.abs(v)).toFixed(2);
        if (v !== 0) s.style.backgroundColor = v > 0 ? "rgba(255,140,0," + alpha + ")" : "rgba(30,120,255," + alpha + ")";
        s.title = "score \u2248 " + (v * a.m).toPrecision(3);
      }
      if (hard[i]) s.className = "hard";
    });
  }

  function step(delta) {
    var n = data.docs.length;
    if (!n) return;
    docSelect.value = String((Number(docSelect.value) + delta + n) % n);
    render();
  }

  docSelect.addEventListener("change", render);
  methodSelect.addEventListener("change", render);
  el("doc-prev").addEventListener("click", function () { step(-1); });
  el("doc-next").addEventListener("click", function () { step(1); });
  render();
})();

(function () {
  "use strict";
  var blob = JSON.parse(document.getElementById("report-data").textContent);
  var form = document.getElementById("filters");
  var controls = {
    township: document.getElementById("f-township"),
    domain: document.getElementById("f-domain"),
    model: document.getElementById("f-model"),
    severity: document.getElementById("f-severity"),
    status: document.getElementById("f-status")
  };
  var text = document.getElementById("f-text");
  var count = document.getElementById("f-count");
  var rows = blob.warnings.map(function (w) {
    return { w: w, el: document.getElementById(w.row) };
  });

  function apply() {
    var needle = text.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var ok = r.el !== null;
      Object.keys(controls).forEach(function (k) {
        var v = controls[k].value;
        if (v !== "*" && r.w[k] !== v) { ok = false; }
      });
      if (needle && r.w.text.indexOf(needle) < 0) { ok = false; }
      if (r.el) { r.el.hidden = !ok; }
      if (ok) { shown += 1; }
    });
    count.textContent = "显示 " + shown + " / " + rows.length + " 条";
    count.dataset.shown = String(shown);
  }

  Object.keys(controls).forEach(function (k) {
    controls[k].addEventListener("change", apply);
  });
  text.addEventListener("input", apply);
  document.getElementById("f-reset").addEventListener("click", function () {
    Object.keys(controls).forEach(function (k) { controls[k].value = "*"; });
    text.value = "";
    apply();
  });

  var details = Array.prototype.slice.call(document.querySelectorAll(".warnings details"));
  var expand = document.getElementById("f-expand");
  expand.addEventListener("click", function () {
    var open = expand.dataset.open !== "1";
    details.forEach(function (d) { d.open = open; });
    expand.dataset.open = open ? "1" : "0";
    expand.textContent = open ? "收起详情" : "展开详情";
  });

  Array.prototype.forEach.call(
    document.querySelectorAll("[data-filter-township]"),
    function (a) {
      a.addEventListener("click", function () {
        controls.township.value = a.getAttribute("data-filter-township");
        apply();
      });
    }
  );

  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = details.filter(function (d) { return !d.open; });
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });

  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  apply();
  document.documentElement.dataset.ready = "1";
})();

// The review page's live preview: when an obligation's frequency or deadline changes,
// ask the server for the next cycles' dates (computed by the calendar, nothing saved).
"use strict";
(function () {
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }
  function render(box, data) {
    box.textContent = "";
    if (!data.ok) {
      var p = document.createElement("p");
      p.className = "preview-problem";
      p.textContent = data.message;
      box.appendChild(p);
      return;
    }
    var table = document.createElement("table");
    table.className = "dash-table preview-table";
    var head = table.createTHead().insertRow();
    ["Kỳ", "Mở", "Hạn cơ quan", "Hạn chủ trì", "Số cơ quan"].forEach(function (h) {
      var th = document.createElement("th");
      th.textContent = h;
      head.appendChild(th);
    });
    var body = table.createTBody();
    data.cycles.forEach(function (c) {
      var row = body.insertRow();
      cell(row, c.period);
      cell(row, c.opens);
      cell(row, c.due);
      cell(row, c.lead_due);
      cell(row, String(c.agencies));
    });
    box.appendChild(table);
  }
  function watch(form) {
    var box = form.querySelector(".preview");
    var frequency = form.querySelector(".f-frequency");
    var deadline = form.querySelector(".f-deadline");
    var timer = null;
    var asked = 0;
    function ask() {
      var n = ++asked;
      var url = box.dataset.url + "?" + new URLSearchParams({
        frequency: frequency.value,
        deadline: deadline.value
      });
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (n === asked) { render(box, data); } })
        .catch(function () {
          if (n === asked) { render(box, { ok: false, message: "Không xem trước được: kiểm tra kết nối." }); }
        });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    }
    frequency.addEventListener("change", later);
    deadline.addEventListener("input", later);
    ask();
  }
  document.querySelectorAll("form.ob-form").forEach(watch);
})();

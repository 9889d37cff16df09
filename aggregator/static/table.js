// Tables marked data-sortable: a click on a heading sorts the rows by that column (again:
// the other way), numbers as numbers and names as Chinese collates them; a box above the
// table (data-filter-for="<table id>") keeps only the rows containing what is typed
// (逾期, 未报, 缺失 …). Both are kept for the page and put back after each live refresh.
(function () {
  var collator = new Intl.Collator("zh-CN", { numeric: true });
  function key(table) { return "table:" + location.pathname + "#" + table.id; }
  function rowsOf(table) {
    var rows = Array.prototype.slice.call(table.rows);
    return { head: rows[0], body: rows.slice(1) };
  }
  function cellValue(row, column) {
    var cell = row.cells[column];
    return cell ? cell.textContent.trim() : "";
  }
  function apply(table) {
    var saved = JSON.parse(sessionStorage.getItem(key(table)) || "{}");
    var parts = rowsOf(table);
    if (saved.column !== undefined) {
      var direction = saved.descending ? -1 : 1;
      parts.body.sort(function (a, b) {
        var x = cellValue(a, saved.column), y = cellValue(b, saved.column);
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = !isNaN(nx) && !isNaN(ny) ? nx - ny : collator.compare(x, y);
        return order * direction;
      });
      var parent = parts.head.parentNode;
      parts.body.forEach(function (row) { parent.appendChild(row); });
      Array.prototype.forEach.call(parts.head.cells, function (th, i) {
        th.setAttribute("aria-sort", i === saved.column ? (saved.descending ? "descending" : "ascending") : "none");
      });
    }
    var box = document.querySelector("input[data-filter-for='" + table.id + "']");
    var wanted = box ? box.value.trim() : "";
    if (box && saved.filter !== undefined && !wanted) {
      box.value = saved.filter;
      wanted = saved.filter;
    }
    parts.body.forEach(function (row) { row.hidden = wanted !== "" && row.textContent.indexOf(wanted) < 0; });
  }
  function save(table, change) {
    var saved = JSON.parse(sessionStorage.getItem(key(table)) || "{}");
    Object.assign(saved, change);
    sessionStorage.setItem(key(table), JSON.stringify(saved));
    apply(table);
  }
  function all() { document.querySelectorAll("table[data-sortable][id]").forEach(apply); }
  document.addEventListener("click", function (e) {
    var th = e.target.closest && e.target.closest("table[data-sortable][id] tr:first-child th");
    if (!th) return;
    var table = th.closest("table");
    var saved = JSON.parse(sessionStorage.getItem(key(table)) || "{}");
    save(table, { column: th.cellIndex, descending: saved.column === th.cellIndex ? !saved.descending : false });
  });
  document.addEventListener("input", function (e) {
    var id = e.target.getAttribute && e.target.getAttribute("data-filter-for");
    var table = id && document.getElementById(id);
    if (table) save(table, { filter: e.target.value.trim() });
  });
  document.addEventListener("live:refreshed", all);
  all();
})();

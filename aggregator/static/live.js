// Live refresh: on every change the server announces, re-fetch this page and swap in its <main>.
// Without JavaScript the pages work the same, only without refreshing themselves.
(function () {
  if (!window.EventSource) return;
  var pending = null;
  function refresh() {
    pending = null;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (next && main) main.replaceWith(next);
        document.body.setAttribute("data-refreshed", String(Date.now()));
      });
  }
  function soon() { if (!pending) pending = setTimeout(refresh, 300); }
  var events = new EventSource("/api/v1/events");
  events.onmessage = soon;
  events.addEventListener("resync", soon);
  document.body.setAttribute("data-live", "1");
})();

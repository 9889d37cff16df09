// Live refresh: on every change the server announces, re-fetch this page and swap in its <main>
// (an agent's heartbeat only where the page shows agents: marked data-hears="heartbeat").
// A part marked data-keep that is being typed in, has focus or was opened by the reader (a form,
// a PDF preview being read) is carried over as it is, so nothing typed, scrolled or opened is
// lost. A page the change did not alter is left as it is (nothing flickers, nothing being
// pointed at is swapped away). Without JavaScript the pages work the same, only without
// refreshing themselves.
(function () {
  if (!window.EventSource) return;
  var pending = null;
  // The last <main> the server sent, as it sent it (scripts such as table.js rearrange what is shown).
  var sent = document.querySelector("main") && document.querySelector("main").outerHTML;
  function refresh() {
    pending = null;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (!next || !main) return;
        var fresh = next.outerHTML;
        if (fresh !== sent) {
          sent = fresh;
          swap(main, next);
        }
        document.body.setAttribute("data-refreshed", String(Date.now()));
        pollWhilePending();
      });
  }
  function swap(main, next) {
    var focused = document.activeElement;
    main.querySelectorAll("[data-keep][id]").forEach(function (el) {
      var twin = next.querySelector("#" + CSS.escape(el.id));
      if (!twin) return;
      // One the reader opened (the server sends it closed) stays as it is: an open PDF
      // preview keeps its place; one the server opens itself takes the fresh content.
      if (el.hasAttribute("data-dirty") || el.contains(focused) || (el.open && !twin.open)) twin.replaceWith(el);
    });
    main.replaceWith(next);
    if (focused && focused !== document.body && document.contains(focused)) focused.focus();
    document.dispatchEvent(new Event("live:refreshed"));
  }
  // A page showing work in progress (a bundle being built) looks again until it is done.
  function pollWhilePending() {
    if (document.querySelector("[data-pending]") && !pending) pending = setTimeout(refresh, 1000);
  }
  function soon() { if (!pending) pending = setTimeout(refresh, 300); }
  // An agent's heartbeat (each agent's, every minute) matters only to a page that shows agents.
  var hearsHeartbeats = function () { return document.querySelector("[data-hears~=heartbeat]"); };
  function heard(type, data) {
    if (type === "resync") return soon();
    var kind = null;
    try { kind = JSON.parse(data).kind; } catch (_) { /* an event we cannot read: refresh */ }
    if (kind === "heartbeat" && !hearsHeartbeats()) return;
    soon();
  }
  // The tab's own stream, where a browser cannot share one between tabs.
  var own = null;
  function ownStream() {
    if (own) return;
    var events = own = new EventSource("/api/v1/events");
    events.onmessage = function (e) { heard("message", e.data); };
    events.addEventListener("resync", function () { heard("resync"); });
    // Browsers allow few connections per server: give this one back as soon as the page goes.
    window.addEventListener("pagehide", function () { events.close(); });
  }
  // One stream for all of this browser's tabs of one viewer (events.js), so that tabs do not
  // use up the six connections a browser opens to a server.
  var viewer = document.currentScript && document.currentScript.getAttribute("data-viewer");
  var shared = null;
  if (window.SharedWorker && viewer) {
    try { shared = new SharedWorker("/static/events.js", { name: "yingjian " + viewer }); } catch (_) { shared = null; }
  }
  if (shared) {
    shared.port.onmessage = function (m) {
      if (m.data.type === "unsupported") ownStream(); else heard(m.data.type, m.data.data);
    };
    // A worker that cannot start (its script blocked on the way) would leave the page deaf.
    shared.onerror = ownStream;
    shared.port.start();
    window.addEventListener("pagehide", function () { shared.port.postMessage("bye"); });
    // Back from the browser's page cache: listening again, and what changed meanwhile shown.
    window.addEventListener("pageshow", function (e) {
      if (e.persisted) { shared.port.postMessage("hello"); soon(); }
    });
  } else {
    ownStream();
  }
  document.addEventListener("input", function (e) {
    var kept = e.target.closest && e.target.closest("[data-keep]");
    if (kept) kept.setAttribute("data-dirty", "1");
  });
  document.body.setAttribute("data-live", "1");
  pollWhilePending();
})();

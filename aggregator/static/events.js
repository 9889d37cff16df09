// A SharedWorker: one event stream for every open tab of this browser that shows one viewer's
// pages (live.js names the worker after the viewer). Over HTTP/1.1 a browser opens at most six
// connections to a server, and a tab's own stream held one for as long as it was open: a
// seventh tab, and every refresh, waited for one to be freed.
var ports = [];
var source = typeof EventSource === "undefined" ? null : new EventSource("/api/v1/events");
function tell(message) {
  ports.forEach(function (port) { port.postMessage(message); });
}
if (source) {
  source.onmessage = function (e) { tell({ type: "message", data: e.data }); };
  source.addEventListener("resync", function () { tell({ type: "resync" }); });
}
onconnect = function (e) {
  var port = e.ports[0];
  // Without EventSource in workers, each tab opens its own stream.
  if (!source) { port.postMessage({ type: "unsupported" }); return; }
  ports.push(port);
  // A tab that goes says bye; one back from the browser's page cache says hello again.
  port.onmessage = function (m) {
    ports = ports.filter(function (p) { return p !== port; });
    if (m.data === "hello") ports.push(port);
  };
  port.start();
};
